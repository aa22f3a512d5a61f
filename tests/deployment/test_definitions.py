"""rabbitmq/definitions.json: made from the topology module; loaded into a broker, it gives that topology."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from slack_fanout import topology
from testbed.envelopes import an_envelope
from testbed.management import quote
from testbed.processes import python_module, running
from testbed.waiting import eventually
from tests.deployment.conftest import DEFINITIONS, committed_definitions
from tests.support.broker import VirtualHost, publish


def test_the_committed_file_is_what_the_topology_module_generates() -> None:
    assert json.loads(DEFINITIONS.read_text()) == topology.definitions(), (
        "regenerate it: python -m slack_fanout.topology > rabbitmq/definitions.json"
    )


def test_loaded_into_a_broker_it_declares_exactly_the_exchange_queues_and_bindings(
    vhost: VirtualHost,
) -> None:
    vhost.management.request("POST", "definitions", committed_definitions(vhost.name))
    api = vhost.management
    exchange = api.get(f"exchanges/{quote(vhost.name)}/{topology.INBOUND_EXCHANGE}")
    assert (exchange["type"], exchange["durable"]) == ("fanout", True)
    queues = {q["name"]: q["arguments"] for q in api.get(f"queues/{quote(vhost.name)}")}
    assert queues == {
        "slack.primary": topology.consumer_queue_arguments("primary"),
        "slack.shadow": topology.consumer_queue_arguments("shadow"),
        "slack.primary.dead": topology.dead_letter_queue_arguments(),
        "slack.shadow.dead": topology.dead_letter_queue_arguments(),
        "slack.archive": topology.archive_queue_arguments(),
        "slack.behaviour": topology.behaviour_stream_arguments(),
        **{
            topology.retry_queue(name, delay): topology.retry_queue_arguments(name, delay)
            for name in ("primary", "shadow")
            for delay in topology.RETRY_DELAYS_MS
        },
    }
    bindings = api.get(f"exchanges/{quote(vhost.name)}/{topology.INBOUND_EXCHANGE}/bindings/source")
    assert sorted(b["destination"] for b in bindings) == ["slack.archive", "slack.primary", "slack.shadow"]
    records = api.get(f"exchanges/{quote(vhost.name)}/{topology.BEHAVIOUR_EXCHANGE}/bindings/source")
    assert [b["destination"] for b in records] == [topology.BEHAVIOUR_STREAM]
    for name in ("primary", "shadow"):
        retry_exchange = api.get(f"exchanges/{quote(vhost.name)}/{topology.retry_exchange(name)}")
        assert (retry_exchange["type"], retry_exchange["durable"]) == ("direct", True)
        parked = api.get(f"exchanges/{quote(vhost.name)}/{topology.retry_exchange(name)}/bindings/source")
        assert {(b["routing_key"], b["destination"]) for b in parked} == {
            (queue, queue) for queue in topology.parking_queues(name, topology.RETRY_DELAYS_MS)
        }


def test_every_queue_but_the_primarys_is_bounded_by_policy(vhost: VirtualHost) -> None:
    vhost.management.request("POST", "definitions", committed_definitions(vhost.name))
    for extra in ("audit", "primary-candidate"):  # consumers added later are bounded too
        with vhost.channel() as channel:
            channel.queue_declare(topology.consumer_queue(extra), durable=True,
                                  arguments=topology.consumer_queue_arguments(extra))  # fmt: skip
    expected = {
        "slack.primary": "slack-placement",  # where its leader goes in a cluster; no bound
        "slack.primary.dead": "slack-placement",
        "slack.primary.wait.1000ms": "slack-placement",
        "slack.shadow": "slack-bounded-consumers",
        "slack.audit": "slack-bounded-consumers",
        "slack.primary-candidate": "slack-bounded-consumers",
        "slack.shadow.dead": "slack-bounded-dead-letters",
        "slack.shadow.wait.1000ms": "slack-placement",  # no overflow policy: at-least-once needs its own
        "slack.archive": "slack-placement",  # it has its own retention
        "slack.behaviour": "slack-placement",  # so has the stream of behaviour records
    }
    for queue, policy in expected.items():
        eventually(partial(has_policy, vhost, queue, policy), f"policy {policy} on {queue}", interval=0.2)


def has_policy(vhost: VirtualHost, queue: str, policy: str) -> bool:
    """Whether the broker applies ``policy`` to ``queue`` yet: it does a moment after the definitions load."""
    return vhost.management.get(f"queues/{quote(vhost.name)}/{quote(queue)}").get("policy") == policy


def test_the_consumers_declarations_agree_with_the_loaded_definitions(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    vhost.management.request("POST", "definitions", committed_definitions(vhost.name))
    argv = python_module("consumers", "run", "primary", "--handler", "testbed.handlers:record")
    env = {"AMQP_URL": vhost.amqp_url, "TEST_RECORD_FILE": str(tmp_path / "handled.txt")}
    with running(argv, env, tmp_path / "primary.log") as primary:
        primary.wait_for_log("consuming")  # a PRECONDITION_FAILED would have closed the channel instead
        publish(vhost, an_envelope().encode())
        primary.wait_for(lambda: vhost.queue_depth("slack.shadow") == 1, "the copy for the shadow")
        primary.wait_for_log("handled")


def test_every_policy_places_leaders_and_none_relies_on_reject_publish_dlx() -> None:
    """Only one policy applies to a queue, so each carries the placement; quorum queues do not support
    ``reject-publish-dlx`` (3.10 silently drops the oldest instead)."""
    for policy in topology.bounding_policies():
        assert policy["definition"]["queue-leader-locator"] == "balanced", policy["name"]
        assert policy["definition"].get("overflow") in (None, "drop-head"), policy["name"]


@pytest.mark.parametrize("name", ["archive", "behaviour", "admin", "gateway"])
def test_no_consumer_may_take_the_archives_or_a_broker_users_name(name: str) -> None:
    with pytest.raises(topology.InvalidConsumerName):
        topology.consumer_queue(name)
