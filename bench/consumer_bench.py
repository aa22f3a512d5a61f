"""Consumer runtime throughput with a no-op handler, beside a bare pika consume-and-ack loop.

    python -m bench.consumer_bench [--messages 20000] [--prefetch 100] [--rounds 3]

Both read the same kind of queue (quorum, bound like a consumer's) preloaded with the same
envelopes; the runtime runs as ``python -m consumers run``, as in production (dedupe ledger,
JSON logs at INFO). Prints messages per second, the medians, and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pika

from slack_fanout.topology import consumer_queue, consumer_queue_arguments
from tests.support.envelopes import an_envelope
from tests.support.management import ManagementApi
from tests.support.processes import Process, python_module

NAME = "bench"


def noop(envelope: object, context: object) -> None:
    """The handler under test: nothing, so only the runtime's own cost is measured."""


def preload(url: str, count: int) -> None:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.queue_declare(consumer_queue(NAME), durable=True, arguments=consumer_queue_arguments(NAME))
        channel.confirm_delivery()
        properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")
        for _ in range(count):
            channel.basic_publish("", consumer_queue(NAME), an_envelope().encode(), properties)


def depth(url: str) -> int:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        return connection.channel().queue_declare(consumer_queue(NAME), passive=True).method.message_count


def raw_pika(url: str, count: int, prefetch: int) -> float:
    """Messages per second of the simplest correct consumer: ack each message in its callback."""
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=prefetch)
        started = time.perf_counter()
        for consumed, (method, _properties, _body) in enumerate(channel.consume(consumer_queue(NAME)), 1):
            channel.basic_ack(method.delivery_tag)
            if consumed == count:
                break
        elapsed = time.perf_counter() - started
        channel.cancel()
    return count / elapsed


def runtime(url: str, count: int, prefetch: int) -> float:
    """Messages per second of ``python -m consumers run`` with the no-op handler, as deployed."""
    workdir = Path(tempfile.mkdtemp(prefix="slack-fanout-consumer-bench-"))
    env = {"AMQP_URL": url, "CONSUMER_PREFETCH": str(prefetch), "CONSUMER_STATE_DIR": str(workdir)}
    argv = python_module("consumers", "run", NAME, "--handler", "bench.consumer_bench:noop")
    process = Process(argv, env, workdir / "consumer.log")
    try:
        process.wait_for_log("consuming", timeout=30)
        started = time.perf_counter()
        while depth(url) > 0:
            time.sleep(0.05)
        return count / (time.perf_counter() - started)
    finally:
        process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--amqp-host", default="localhost")
    arguments = parser.parse_args()
    management = ManagementApi(f"http://{arguments.amqp_host}:15672", "guest", "guest")
    vhost = f"consumer-bench-{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    url = f"amqp://guest:guest@{arguments.amqp_host}:5672/{vhost}"
    results: dict[str, list[float]] = {"raw pika": [], "runtime (--handler)": []}
    try:
        for round_number in range(1, arguments.rounds + 1):
            for name, measure in (("raw pika", raw_pika), ("runtime (--handler)", runtime)):
                preload(url, arguments.messages)
                rate = measure(url, arguments.messages, arguments.prefetch)
                results[name].append(rate)
                print(f"round {round_number} {name:22} {rate:8.0f} msg/s", flush=True)
    finally:
        management.delete_vhost(vhost)
    raw = statistics.median(results["raw pika"])
    print("\n| consumer | msg/s (median) | ratio to raw pika |\n|---|---:|---:|")
    for name, rates in results.items():
        print(f"| {name} | {statistics.median(rates):.0f} | {statistics.median(rates) / raw:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
