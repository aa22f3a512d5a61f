"""The behaviour stream in a test's vhost, declared as the deployment declares it, and records
published to it as consumers publish them (persistent, confirmed)."""

from __future__ import annotations

from collections.abc import Iterable

import pika
from pika.adapters.blocking_connection import BlockingChannel

from slack_fanout.behaviour import CONTENT_TYPE, BehaviourRecord
from slack_fanout.topology import BEHAVIOUR_EXCHANGE, BEHAVIOUR_STREAM, behaviour_stream_arguments
from tests.support.broker import VirtualHost


def declare_behaviour_stream(channel: BlockingChannel) -> None:
    """A durable fanout exchange with the stream bound to it, as ``slack_fanout.topology`` defines them."""
    channel.exchange_declare(BEHAVIOUR_EXCHANGE, "fanout", durable=True)
    channel.queue_declare(BEHAVIOUR_STREAM, durable=True, arguments=behaviour_stream_arguments())
    channel.queue_bind(BEHAVIOUR_STREAM, BEHAVIOUR_EXCHANGE)


def publish_records(vhost: VirtualHost, records: Iterable[BehaviourRecord]) -> None:
    with vhost.channel() as channel:
        channel.confirm_delivery()
        properties = pika.BasicProperties(delivery_mode=2, content_type=CONTENT_TYPE)
        for record in records:
            channel.basic_publish(BEHAVIOUR_EXCHANGE, "", record.encode(), properties, mandatory=True)
