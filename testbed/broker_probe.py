"""The broker alone: how fast it confirms persistent messages when nothing else is in the way.

One pika connection keeps a fixed number of envelope-sized messages in flight on the fanout
exchange, sending each batch in one write (as the gateway's publisher does) and topping up
as confirms arrive. Its rate and the broker's CPU per message are the floor under any gateway
on this machine: the gateway benchmark prints them beside its own figures. The suite drives
the gateway's batched writes through it (tests/gateway/test_publisher_batching.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pika

from gateway.batching_connection import BatchingConnection
from slack_fanout.topology import INBOUND_EXCHANGE

BODY = b"x" * 1500  # about the size of a slash command's envelope


@dataclass(frozen=True)
class ProbeResult:
    in_flight: int
    confirmed: int
    seconds: float
    broker_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.confirmed / self.seconds

    @property
    def broker_cpu_ms(self) -> float:
        return self.broker_cpu_seconds * 1000 / max(self.confirmed, 1)


def probe(amqp_url: str, in_flight: int, seconds: float, broker_cpu: Callable[[], float]) -> ProbeResult:
    """Publish for ``seconds`` with ``in_flight`` unconfirmed messages at all times."""
    properties = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
    state = {"confirmed": 0, "started": 0.0, "cpu": 0.0, "ended": 0.0, "cpu_used": 0.0}

    def on_open(connection: BatchingConnection) -> None:
        connection.channel(on_open_callback=on_channel)

    def on_channel(channel) -> None:
        channel.confirm_delivery(lambda frame: on_confirm(channel, frame), callback=lambda _f: start(channel))

    def start(channel) -> None:
        state["started"], state["cpu"] = time.monotonic(), broker_cpu()
        send(channel, in_flight)

    def send(channel, count: int) -> None:
        with connection.batched():
            for _ in range(count):
                channel.basic_publish(INBOUND_EXCHANGE, "", BODY, properties)

    def on_confirm(channel, frame) -> None:
        method = frame.method
        settled = method.delivery_tag - state["confirmed"] if method.multiple else 1
        state["confirmed"] += settled
        if time.monotonic() - state["started"] < seconds:
            send(channel, settled)
        elif not state["ended"]:
            state["ended"], state["cpu_used"] = time.monotonic(), broker_cpu() - state["cpu"]
            state["counted"] = state["confirmed"]
            connection.close()

    connection = BatchingConnection(
        pika.URLParameters(amqp_url),
        on_open_callback=on_open,
        on_open_error_callback=lambda conn, _error: conn.ioloop.stop(),
        on_close_callback=lambda conn, _reason: conn.ioloop.stop(),
    )
    connection.ioloop.start()
    if not state["ended"]:
        raise SystemExit("the broker probe could not connect or publish")
    return ProbeResult(
        in_flight=in_flight,
        confirmed=state["counted"],
        seconds=state["ended"] - state["started"],
        broker_cpu_seconds=state["cpu_used"],
    )
