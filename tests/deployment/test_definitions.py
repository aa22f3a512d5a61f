"""rabbitmq/definitions.json: made from the topology module; loaded into a broker, it gives that topology."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pika
import pytest

from slack_fanout import topology
from tests.support.broker import VirtualHost, publish
from tests.support.envelopes import an_envelope
from tests.support.management import quote
from tests.support.processes import REPO, python_module, running

DEFINITIONS = REPO / "rabbitmq" / "definitions.json"


def committed_definitions(vhost: str) -> dict:
    definitions = json.loads(DEFINITIONS.read_text())
    for section in definitions.values():
        for item in section:
            if "vhost" in item:
                item["vhost"] = vhost
            elif set(item) == {"name"}:
                item["name"] = vhost
    return definitions


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
        **{
            topology.retry_queue(name, delay): topology.retry_queue_arguments(name, delay)
            for name in ("primary", "shadow")
            for delay in topology.RETRY_DELAYS_MS
        },
    }
    bindings = api.get(f"exchanges/{quote(vhost.name)}/{topology.INBOUND_EXCHANGE}/bindings/source")
    assert sorted(b["destination"] for b in bindings) == ["slack.primary", "slack.shadow"]


def test_every_queue_but_the_primarys_is_bounded_by_policy(vhost: VirtualHost) -> None:
    vhost.management.request("POST", "definitions", committed_definitions(vhost.name))
    for extra in ("audit", "primary-candidate"):  # consumers added later are bounded too
        with vhost.channel() as channel:
            channel.queue_declare(topology.consumer_queue(extra), durable=True,
                                  arguments=topology.consumer_queue_arguments(extra))  # fmt: skip
    expected = {
        "slack.primary": None,
        "slack.primary.dead": None,
        "slack.shadow": "slack-bounded-consumers",
        "slack.audit": "slack-bounded-consumers",
        "slack.primary-candidate": "slack-bounded-consumers",
        "slack.shadow.dead": "slack-bounded-dead-letters",
    }
    for queue, policy in expected.items():
        vhost_queue = f"queues/{quote(vhost.name)}/{quote(queue)}"
        assert vhost.management.wait_for(
            lambda q=vhost_queue: vhost.management.get(q).get("policy"), policy
        ), queue


def test_the_consumers_declarations_agree_with_the_loaded_definitions(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    vhost.management.request("POST", "definitions", committed_definitions(vhost.name))
    argv = python_module("consumers", "run", "primary", "--handler", "tests.consumers.handlers:record")
    env = {"AMQP_URL": vhost.amqp_url, "TEST_RECORD_FILE": str(tmp_path / "handled.txt")}
    with running(argv, env, tmp_path / "primary.log") as primary:
        primary.wait_for_log("consuming")  # a PRECONDITION_FAILED would have closed the channel instead
        publish(vhost, an_envelope().encode())
        primary.wait_for(lambda: vhost.queue_depth("slack.shadow") == 1, "the copy for the shadow")
        primary.wait_for_log("handled")


def test_the_generated_broker_user_logs_in_with_the_generated_password(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    subprocess.run([sys.executable, str(REPO / "scripts" / "make-secrets"), str(tmp_path)], check=True,
                   capture_output=True)  # fmt: skip
    users = json.loads((tmp_path / "rabbitmq_users.json").read_text())
    username = f"test-{uuid.uuid4().hex[:8]}"  # users are broker-wide: never clash with a real one
    users["users"][0]["name"] = username
    users["permissions"][0].update(user=username, vhost=vhost.name)
    users["vhosts"] = [{"name": vhost.name}]
    vhost.management.request("POST", "definitions", users)
    try:
        password = (tmp_path / "rabbitmq_password").read_text().strip()
        url = vhost.amqp_url.replace("guest:guest", f"{username}:{password}")
        pika.BlockingConnection(pika.URLParameters(url)).close()
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(pika.URLParameters(url.replace(password, "wrong"))).close()
    finally:
        vhost.management.delete(f"users/{username}")
    assert "@rabbitmq:5672" in (tmp_path / "amqp_url").read_text()


def test_make_secrets_keeps_what_is_already_there(tmp_path: Path) -> None:
    (tmp_path / "slack_signing_secret").write_text("the-real-one\n")
    subprocess.run([sys.executable, str(REPO / "scripts" / "make-secrets"), str(tmp_path)], check=True,
                   capture_output=True)  # fmt: skip
    assert (tmp_path / "slack_signing_secret").read_text() == "the-real-one\n"
