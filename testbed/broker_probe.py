"""The broker alone: how fast, and how soon, it confirms persistent messages when nothing else is in the way.

One pika connection keeps a fixed number of envelope-sized messages in flight on the fanout
exchange, sending each batch in one write (as the gateway's publisher does) and topping up
as confirms arrive. Its rate and the broker's CPU per message are the floor under any gateway
on this machine: the gateway benchmark prints them beside its own figures. The suite drives
the gateway's batched writes through it (tests/gateway/test_publisher_batching.py).

``paced_latency`` is the floor under the gateway's latency: lone publishes, paced as the
gateway's half-rate run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pika

from slack_fanout.batching_connection import BatchingConnection
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
        confirmed=int(state["counted"]),
        seconds=state["ended"] - state["started"],
        broker_cpu_seconds=state["cpu_used"],
    )


@dataclass(frozen=True)
class PacedLatency:
    """Confirm latencies of lone publishes: each client waits for its confirm, then pauses."""

    latencies_ms: list[float]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def paced_latency(amqp_url: str, clients: int, pause_ms: float, seconds: float) -> PacedLatency:
    """``clients`` connections, each publishing one persistent message, waiting for its confirm,
    pausing ``pause_ms``, and again: the load shape of the gateway's half-rate run (wrk's paced
    connections), without HTTP or the gateway, so its latencies are the floor under the gateway's."""
    latencies: list[float] = []
    started = time.monotonic()

    def client() -> None:
        properties = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
        with pika.BlockingConnection(pika.URLParameters(amqp_url)) as connection:
            channel = connection.channel()
            channel.confirm_delivery()
            while time.monotonic() - started < seconds:
                sent = time.perf_counter()
                channel.basic_publish(INBOUND_EXCHANGE, "", BODY, properties)
                latencies.append((time.perf_counter() - sent) * 1000)
                time.sleep(pause_ms / 1000)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return PacedLatency(latencies, time.monotonic() - started)
