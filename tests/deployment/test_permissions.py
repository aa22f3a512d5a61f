"""Each app's broker user may do what that app does and nothing else (``topology.broker_users``)."""

from __future__ import annotations

from collections.abc import Callable

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker

from slack_fanout import apply, topology
from tests.deployment.conftest import amqp_url_as
from tests.support.broker import VirtualHost

ALLOWED, ACCESS_REFUSED = 200, 403


@pytest.fixture
def users(vhost: VirtualHost, management_env: dict[str, str], user_prefix: str,
          monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # fmt: skip
    """The topology and its users applied to the test vhost: each user's AMQP URL, by role."""
    monkeypatch.setenv("RABBITMQ_USER_PREFIX", user_prefix)
    urls = {}
    for user in topology.broker_users():
        monkeypatch.setenv(f"RABBITMQ_{user.role.upper()}_PASSWORD", f"pw-{user.role}")
        urls[user.role] = amqp_url_as(vhost, user_prefix + user.role, f"pw-{user.role}")
    assert apply.main(["--users"]) == apply.RET_OK
    return urls


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
        channel.basic_publish("", topology.retry_queue("primary", topology.RETRY_DELAYS_MS[0]), b"{}")

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
