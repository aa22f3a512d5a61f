"""A batch of publishes leaves the gateway as one write: what keeps the broker's cost per message low."""

from __future__ import annotations

import pika
import pytest

from gateway.publisher import BatchingConnection
from tests.support.broker import Broker, VirtualHost

QUEUE = "batching.inbox"
BATCH = 20


def run_one_batch(url: str, writes: list[bytes]) -> int:
    """Connect, publish ``BATCH`` persistent messages inside ``batched()``, return how many were confirmed."""
    confirmed: list[int] = []

    def on_open(connection: BatchingConnection) -> None:
        connection.channel(on_open_callback=on_channel)

    def on_channel(channel) -> None:
        channel.queue_declare(QUEUE, durable=True, callback=lambda _frame: on_declared(channel))

    def on_declared(channel) -> None:
        channel.confirm_delivery(
            lambda frame: on_confirm(channel, frame), callback=lambda _f: publish(channel)
        )

    def publish(channel) -> None:
        writes.clear()  # only the batch's own writes count
        with connection.batched():
            for number in range(BATCH):
                channel.basic_publish(
                    "", QUEUE, b"message %d" % number, pika.BasicProperties(delivery_mode=2)
                )

    def on_confirm(channel, frame) -> None:
        method = frame.method
        assert isinstance(method, pika.spec.Basic.Ack)
        confirmed.append(method.delivery_tag)
        if max(confirmed) == BATCH:
            connection.close()

    connection = BatchingConnection(
        pika.URLParameters(url),
        on_open_callback=on_open,
        on_open_error_callback=lambda conn, error: conn.ioloop.stop(),
        on_close_callback=lambda conn, reason: conn.ioloop.stop(),
    )
    connection.ioloop.call_later(10, connection.ioloop.stop)  # a hung broker fails the test, not CI
    connection.ioloop.start()
    return max(confirmed, default=0)


def test_publishes_inside_a_batch_reach_the_broker_in_one_write_and_are_all_confirmed(
    broker: Broker, vhost: VirtualHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    plain_emit = pika.SelectConnection._adapter_emit_data

    def recording_emit(connection: pika.SelectConnection, data: bytes) -> None:
        writes.append(data)
        plain_emit(connection, data)

    monkeypatch.setattr(pika.SelectConnection, "_adapter_emit_data", recording_emit)

    confirmed = run_one_batch(broker.amqp_url(vhost.name), writes)

    assert confirmed == BATCH
    carrying_messages = [data for data in writes if b"message " in data]
    assert len(carrying_messages) == 1
    assert carrying_messages[0].count(b"message ") == BATCH
    assert vhost.queue_depth(QUEUE) == BATCH
