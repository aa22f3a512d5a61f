"""Each app's broker user may do what that app does and nothing else (``topology.broker_users``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker

from slack_fanout import apply, topology
from slack_fanout.exit_codes import ExitCode
from testbed.envelopes import an_envelope
from testbed.processes import python_module, running
from tests.deployment.conftest import amqp_url_as
from tests.support.broker import VirtualHost, publish

ALLOWED, ACCESS_REFUSED = 200, 403


ADDED = "audit"
"""A consumer the source does not list: its user comes from ``apply --consumer``."""


@pytest.fixture
def users(vhost: VirtualHost, management_env: dict[str, str], user_prefix: str,
          monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # fmt: skip
    """The topology, its users and an added consumer's applied to the test vhost: each user's AMQP URL,
    by role. The shared exchanges other parts declare exist too."""
    monkeypatch.setenv("RABBITMQ_USER_PREFIX", user_prefix)
    urls = {}
    for role in [user.role for user in topology.broker_users()] + [ADDED]:
        monkeypatch.setenv(f"RABBITMQ_{role.upper()}_PASSWORD", f"pw-{role}")
        urls[role] = amqp_url_as(vhost, user_prefix + role, f"pw-{role}")
    assert apply.main(["--users"]) == ExitCode.OK
    assert apply.main(["--consumer", ADDED]) == ExitCode.OK
    with vhost.channel() as channel:
        channel.exchange_declare(topology.BEHAVIOUR_EXCHANGE, "fanout", durable=True)
        for name in ("primary", "shadow", ADDED):
            declare_retry_exchange(channel, name)
    return urls


def declare_retry_exchange(channel: BlockingChannel, name: str) -> None:
    """A consumer's own retry exchange ``slack.<name>.retry``, bound to its first retry queue."""
    exchange = f"{topology.consumer_queue(name)}.retry"
    first_retry = topology.retry_queue(name, topology.RETRY_DELAYS_MS[0])
    channel.exchange_declare(exchange, "direct", durable=True)
    channel.queue_declare(
        first_retry, durable=True, arguments=topology.retry_queue_arguments(name, topology.RETRY_DELAYS_MS[0])
    )
    channel.queue_bind(first_retry, exchange, routing_key=first_retry)


def outcome(url: str, action: Callable[[BlockingChannel], object]) -> int:
    """``ALLOWED``, or the code with which the broker closed the channel on ``action``."""
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.confirm_delivery()  # so a refused publish fails here, not later
        try:
            action(channel)
        except ChannelClosedByBroker as error:
            return error.reply_code
    return ALLOWED


def consume(queue: str) -> Callable[[BlockingChannel], object]:
    return lambda channel: channel.basic_consume(queue, lambda *_: None)


def publish_to(exchange: str, routing_key: str = "") -> Callable[[BlockingChannel], object]:
    return lambda channel: channel.basic_publish(exchange, routing_key, b"{}")


def test_the_gateway_publishes_to_the_exchange_and_gets_direct_replies(
    vhost: VirtualHost, users: dict[str, str]
) -> None:
    def publish_for_a_reply(channel: BlockingChannel) -> None:
        channel.exchange_declare(topology.INBOUND_EXCHANGE, passive=True)
        channel.basic_consume(topology.DIRECT_REPLY_TO, lambda *_: None, auto_ack=True)
        properties = pika.BasicProperties(reply_to=topology.DIRECT_REPLY_TO)
        channel.basic_publish(topology.INBOUND_EXCHANGE, "", b"{}", properties, mandatory=True)

    assert outcome(users["gateway"], publish_for_a_reply) == ALLOWED
    assert vhost.queue_depth("slack.primary") == 1


def test_the_gateway_can_neither_read_a_queue_nor_publish_elsewhere_nor_declare(
    users: dict[str, str],
) -> None:
    gateway = users["gateway"]
    assert outcome(gateway, consume("slack.primary")) == ACCESS_REFUSED
    assert outcome(gateway, publish_to("amq.fanout")) == ACCESS_REFUSED
    assert outcome(gateway, publish_to("", "slack.primary")) == ACCESS_REFUSED
    assert outcome(gateway, lambda channel: channel.queue_declare("slack.gateway-own")) == ACCESS_REFUSED


def test_a_consumer_declares_binds_and_consumes_its_own_queues_and_publishes_retries(
    vhost: VirtualHost, users: dict[str, str]
) -> None:
    def run_as_the_consumer_runtime_does(channel: BlockingChannel) -> None:
        channel.exchange_declare(topology.INBOUND_EXCHANGE, passive=True)
        channel.queue_declare(
            "slack.primary", durable=True, arguments=topology.consumer_queue_arguments("primary")
        )
        channel.queue_bind("slack.primary", topology.INBOUND_EXCHANGE)
        channel.basic_consume("slack.primary", lambda *_: None)
        retry_queue = topology.retry_queue("primary", topology.RETRY_DELAYS_MS[0])
        channel.exchange_declare(topology.retry_exchange("primary"), exchange_type="direct", durable=True)
        channel.queue_bind(retry_queue, topology.retry_exchange("primary"), routing_key=retry_queue)
        channel.basic_publish(topology.retry_exchange("primary"), retry_queue, b"{}")

    assert outcome(users["primary"], run_as_the_consumer_runtime_does) == ALLOWED
    assert vhost.queue_depth(topology.retry_queue("primary", topology.RETRY_DELAYS_MS[0])) == 1


def test_a_consumer_cannot_read_or_configure_another_consumers_queue(users: dict[str, str]) -> None:
    primary, shadow = users["primary"], users["shadow"]
    assert outcome(primary, consume("slack.shadow")) == ACCESS_REFUSED
    assert outcome(shadow, consume("slack.primary")) == ACCESS_REFUSED
    assert outcome(shadow, consume("slack.shadow")) == ALLOWED
    assert outcome(primary, lambda channel: channel.queue_delete("slack.shadow")) == ACCESS_REFUSED
    assert outcome(primary, consume(topology.ARCHIVE_QUEUE)) == ACCESS_REFUSED


def test_a_consumer_cannot_publish_to_the_exchange_nor_declare_it(users: dict[str, str]) -> None:
    primary = users["primary"]
    assert outcome(primary, publish_to(topology.INBOUND_EXCHANGE)) == ACCESS_REFUSED
    declare = outcome(
        primary, lambda c: c.exchange_declare(topology.INBOUND_EXCHANGE, "fanout", durable=True)
    )
    assert declare == ACCESS_REFUSED  # why the apps check the exchange passively first


@pytest.mark.parametrize("consumer", ["shadow", ADDED])
def test_no_consumer_but_the_replying_one_may_publish_through_the_default_exchange(
    vhost: VirtualHost, users: dict[str, str], consumer: str
) -> None:
    url = users[consumer]
    assert outcome(url, publish_to("", "slack.primary")) == ACCESS_REFUSED  # into production's queue
    assert outcome(url, publish_to("", topology.consumer_queue(consumer))) == ACCESS_REFUSED  # even its own
    assert (
        outcome(url, publish_to("slack.primary.retry", topology.retry_queue("primary", 1000)))
        == ACCESS_REFUSED
    )
    assert outcome(url, publish_to(topology.INBOUND_EXCHANGE)) == ACCESS_REFUSED
    assert vhost.queue_depth("slack.primary") == 0


def test_an_added_consumer_works_its_own_queues_and_writes_behaviour_records(
    vhost: VirtualHost, users: dict[str, str]
) -> None:
    def run_as_the_consumer_runtime_does(channel: BlockingChannel) -> None:
        channel.exchange_declare(topology.INBOUND_EXCHANGE, passive=True)
        channel.queue_declare(topology.dead_letter_queue(ADDED), durable=True,
                              arguments=topology.dead_letter_queue_arguments())  # fmt: skip
        channel.queue_declare(topology.consumer_queue(ADDED), durable=True,
                              arguments=topology.consumer_queue_arguments(ADDED))  # fmt: skip
        channel.queue_bind(topology.consumer_queue(ADDED), topology.INBOUND_EXCHANGE)
        channel.basic_consume(topology.consumer_queue(ADDED), lambda *_: None)
        channel.basic_publish(topology.BEHAVIOUR_EXCHANGE, "", b"{}")

    assert outcome(users[ADDED], run_as_the_consumer_runtime_does) == ALLOWED
    assert outcome(users[ADDED], consume("slack.shadow")) == ACCESS_REFUSED
    assert outcome(users["shadow"], consume(topology.consumer_queue(ADDED))) == ACCESS_REFUSED


@pytest.mark.parametrize("consumer", ["shadow", ADDED])
def test_a_consumer_publishes_its_retry_copies_through_its_own_exchange_only(
    vhost: VirtualHost, users: dict[str, str], consumer: str
) -> None:
    first_retry = topology.retry_queue(consumer, topology.RETRY_DELAYS_MS[0])
    own = f"{topology.consumer_queue(consumer)}.retry"
    assert (
        outcome(users[consumer], lambda c: c.basic_publish(own, first_retry, b"{}", mandatory=True))
        == ALLOWED
    )
    assert vhost.queue_depth(first_retry) == 1
    other = "slack.primary.retry"
    to_primary = topology.retry_queue("primary", topology.RETRY_DELAYS_MS[0])
    assert outcome(users[consumer], publish_to(other, to_primary)) == ACCESS_REFUSED


def test_the_primary_answers_through_direct_reply_to_as_the_gateway_waits(
    vhost: VirtualHost, users: dict[str, str]
) -> None:
    gateway = pika.BlockingConnection(pika.URLParameters(users["gateway"]))
    primary = pika.BlockingConnection(pika.URLParameters(users["primary"]))
    try:
        waiting = gateway.channel()
        answers: list[bytes] = []
        waiting.basic_consume(
            topology.DIRECT_REPLY_TO, lambda _c, _m, _p, body: answers.append(body), auto_ack=True
        )
        request = pika.BasicProperties(reply_to=topology.DIRECT_REPLY_TO, correlation_id="e1")
        waiting.basic_publish(topology.INBOUND_EXCHANGE, "", b"{}", request)

        answering = primary.channel()
        method, properties, _body = next(answering.consume("slack.primary", inactivity_timeout=10))
        assert method is not None, "the request never reached slack.primary"
        answering.basic_publish(
            "", properties.reply_to, b"the answer", pika.BasicProperties(correlation_id="e1")
        )
        answering.basic_ack(method.delivery_tag)
        for _second in range(30):  # each call returns as soon as the answer arrives
            if answers:
                break
            gateway.process_data_events(time_limit=1)
    finally:
        gateway.close()
        primary.close()
    assert answers == [b"the answer"]


def test_a_consumer_publishes_its_behaviour_records_but_cannot_read_anyones(users: dict[str, str]) -> None:
    def publish_a_record(channel: BlockingChannel) -> None:
        channel.exchange_declare(topology.BEHAVIOUR_EXCHANGE, passive=True)  # as the runtime checks it
        channel.basic_publish(topology.BEHAVIOUR_EXCHANGE, "", b"{}", mandatory=True)

    shadow = users["shadow"]
    assert outcome(shadow, publish_a_record) == ALLOWED  # confirmed, and routed to the stream (mandatory)
    assert outcome(shadow, consume(topology.BEHAVIOUR_STREAM)) == ACCESS_REFUSED
    declare = outcome(
        shadow, lambda c: c.exchange_declare(topology.BEHAVIOUR_EXCHANGE, "fanout", durable=True)
    )
    assert declare == ACCESS_REFUSED


def test_a_least_privileged_consumer_retries_on_a_schedule_of_its_own_and_its_copy_comes_back(
    vhost: VirtualHost, users: dict[str, str], tmp_path: Path
) -> None:
    """Retry queues for a schedule the definitions do not hold are declared by the consumer itself,
    as its own user, and the copy returns through its own exchange: no default exchange anywhere."""
    outage = tmp_path / "downstream-down"
    outage.touch()
    argv = python_module("consumers", "run", ADDED, "--handler", "testbed.handlers:record")
    env = {"AMQP_URL": users[ADDED], "TEST_RECORD_FILE": str(tmp_path / "handled.txt"),
           "TEST_FAIL_WHILE": str(outage), "CONSUMER_RETRY_DELAYS_MS": "[150, 250]"}  # fmt: skip
    with running(argv, env, tmp_path / "consumer.log") as process:
        process.wait_for_log("consuming", consumer=ADDED)
        publish(vhost, an_envelope("retried").encode())
        process.wait_for_log("handler failed")
        outage.unlink()
        process.wait_for_log("handled")
    assert (tmp_path / "handled.txt").read_text().splitlines() == ["retried"]
    assert vhost.queue_depth(topology.dead_letter_queue(ADDED)) == 0
    assert vhost.queue_depth(topology.retry_queue(ADDED, 150)) == 0
