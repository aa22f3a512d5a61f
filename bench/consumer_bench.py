"""Consumer runtime throughput, each way to consume, beside a bare pika consume-and-ack loop.

    python -m bench.consumer_bench [--messages 20000] [--prefetch 100] [--rounds 3] [--only NAME ...]

All read the same kind of queue (quorum, bound like a consumer's) preloaded with the same
envelopes. The runtime runs as ``python -m consumers run``, as in production (dedupe ledger,
JSON logs at INFO), three ways: a no-op ``--handler``; ``--wsgi`` with a Flask app that
answers an empty 200; ``--forward`` to that app under gunicorn (the gateway's gunicorn
configuration), with ``CONSUMER_CONCURRENCY`` requests at once. The no-op handler and the
WSGI app also run with ``CONSUMER_BEHAVIOUR_RECORDS=false``, so the cost of capture and
behaviour records (on by default) is the ratio of the two. The floor (``bench.consumer_floor``)
is a raw pika loop doing the runtime's own work per message, at its defaults, on one thread:
what any runtime design would cost. Prints messages per second, the medians, and the ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pika

from slack_fanout.topology import consumer_queue, consumer_queue_arguments
from testbed.envelopes import an_envelope
from testbed.management import BrokerAdmin
from testbed.processes import Process, free_port, python_module, running

NAME = "bench"
SETTLE_SECONDS = 3.0
"""After preloading, the quorum queue keeps writing its log for a moment: let it finish before a
consumer is timed, so that no consumer shares the cores with that work."""


def noop(envelope: object, context: object) -> None:
    """The handler under test: nothing, so only the runtime's own cost is measured."""


def preload(url: str, count: int) -> None:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.queue_declare(consumer_queue(NAME), durable=True, arguments=consumer_queue_arguments(NAME))
        properties = pika.BasicProperties(delivery_mode=2, content_type="application/json")
        for _ in range(count):  # unconfirmed, and counted in the queue: a confirm each is slow on a busy node
            channel.basic_publish("", consumer_queue(NAME), an_envelope().encode(), properties)
        while channel.queue_declare(consumer_queue(NAME), passive=True).method.message_count < count:
            time.sleep(0.05)
    time.sleep(SETTLE_SECONDS)


@dataclass(frozen=True)
class Measurement:
    rate: float
    """Messages per second, wall clock."""
    cpu_us: float
    """CPU time of the consuming process per message: steadier than the rate on a busy machine."""


def wait_until_drained(url: str) -> None:
    """Until the queue holds no message, ready or unacknowledged (one connection, polled)."""
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        while channel.queue_declare(consumer_queue(NAME), passive=True).method.message_count > 0:
            time.sleep(0.02)


def raw_pika(url: str, count: int, prefetch: int) -> Measurement:
    """The simplest correct consumer: ack each message in its callback."""
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=prefetch)
        started, cpu_started = time.perf_counter(), time.process_time()
        for consumed, (method, _properties, _body) in enumerate(channel.consume(consumer_queue(NAME)), 1):
            channel.basic_ack(method.delivery_tag)
            if consumed == count:
                break
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        channel.cancel()
    return Measurement(count / elapsed, cpu / count * 1e6)


def _cpu_seconds(pid: int) -> float:
    """User plus system time of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runtime(
    url: str,
    count: int,
    prefetch: int,
    target: tuple[str, ...],
    concurrency: int = 1,
    log_handled: bool = True,
    records: bool = True,
) -> Measurement:
    """Messages per second of ``python -m consumers run TARGET...``, as deployed."""
    argv = python_module("consumers", "run", NAME, *target)
    return consumer_process(argv, url, count, prefetch, concurrency, log_handled, records)


def consumer_process(
    argv: list[str], url: str, count: int, prefetch: int, concurrency: int, log_handled: bool, records: bool
) -> Measurement:
    """Messages per second of a consumer process given the runtime's settings, until the queue is empty."""
    workdir = Path(tempfile.mkdtemp(prefix="slack-fanout-consumer-bench-"))
    env = {
        "AMQP_URL": url,
        "CONSUMER_PREFETCH": str(prefetch),
        "CONSUMER_STATE_DIR": str(workdir),
        "CONSUMER_CONCURRENCY": str(concurrency),
        "CONSUMER_LOG_HANDLED": str(log_handled).lower(),
        "CONSUMER_BEHAVIOUR_RECORDS": str(records).lower(),
    }
    process = Process(argv, env, workdir / "consumer.log")
    try:
        process.wait_for_log("consuming", timeout=30)
        started, cpu_started = time.perf_counter(), _cpu_seconds(process.popen.pid)
        wait_until_drained(url)
        elapsed, cpu = time.perf_counter() - started, _cpu_seconds(process.popen.pid) - cpu_started
        return Measurement(count / elapsed, cpu / count * 1e6)
    finally:
        process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def empty_200_server() -> Iterator[str]:
    """The bare Flask app under gunicorn, as a --forward target; yields its URL."""
    port = free_port()
    argv = [str(Path(sys.executable).with_name("gunicorn")), "-c", "bench/bare.gunicorn.conf.py",
            "-b", f"127.0.0.1:{port}"]  # fmt: skip
    workdir = Path(tempfile.mkdtemp(prefix="slack-fanout-forward-target-"))
    with running(argv, {"WEB_CONCURRENCY": "1"}, workdir / "gunicorn.log") as process:
        process.wait_for(lambda: _listening(port), "the forward target to listen")
        yield f"http://127.0.0.1:{port}/slack/events"
    shutil.rmtree(workdir, ignore_errors=True)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--forward-concurrency", type=int, default=8)
    parser.add_argument("--amqp-host", default="localhost")
    parser.add_argument("--amqp-port", type=int, default=5672)
    parser.add_argument("--management-port", type=int, default=15672)
    parser.add_argument("--only", action="append", help="run only the consumers whose name contains this")
    arguments = parser.parse_args()
    management = BrokerAdmin(f"http://{arguments.amqp_host}:{arguments.management_port}", "guest", "guest")
    vhost = f"consumer-bench-{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    url = f"amqp://guest:guest@{arguments.amqp_host}:{arguments.amqp_port}/{vhost}"
    count, prefetch = arguments.messages, arguments.prefetch
    forward = f"--forward (concurrency {arguments.forward_concurrency})"
    noop = ("--handler", "bench.consumer_bench:noop")
    floor = python_module("bench.consumer_floor", NAME, str(prefetch))
    results: dict[str, list[Measurement]] = {}
    try:
        with empty_200_server() as target_url:
            consumers: dict[str, Callable[[], Measurement]] = {
                "raw pika": lambda: raw_pika(url, count, prefetch),
                "floor: raw pika doing the runtime's work": lambda: consumer_process(
                    floor, url, count, prefetch, concurrency=1, log_handled=True, records=True
                ),
                "--handler no-op": lambda: runtime(url, count, prefetch, noop),
                "--handler no-op, CONSUMER_LOG_HANDLED=false": lambda: runtime(
                    url, count, prefetch, noop, log_handled=False
                ),
                "--handler no-op, CONSUMER_BEHAVIOUR_RECORDS=false": lambda: runtime(
                    url, count, prefetch, noop, records=False
                ),
                "--wsgi empty 200": lambda: runtime(url, count, prefetch, ("--wsgi", "bench.bare_app:app")),
                "--wsgi empty 200, CONSUMER_BEHAVIOUR_RECORDS=false": lambda: runtime(
                    url, count, prefetch, ("--wsgi", "bench.bare_app:app"), records=False
                ),
                forward: lambda: runtime(
                    url, count, prefetch, ("--forward", target_url), arguments.forward_concurrency
                ),
            }
            if arguments.only:  # raw pika always: the ratios are to it
                wanted = ("raw pika", *arguments.only)
                consumers = {name: measure for name, measure in consumers.items()
                             if any(part in name for part in wanted)}  # fmt: skip
            for round_number in range(1, arguments.rounds + 1):
                for name, measure in consumers.items():
                    preload(url, count)
                    result = measure()
                    results.setdefault(name, []).append(result)
                    print(f"round {round_number} {name:45} {result.rate:8.0f} msg/s  "
                          f"{result.cpu_us:6.1f} CPU µs/msg", flush=True)  # fmt: skip
    finally:
        management.delete_vhost(vhost)
    raw_rate = statistics.median(m.rate for m in results["raw pika"])
    raw_cpu = statistics.median(m.cpu_us for m in results["raw pika"])
    print(
        "\n| consumer | msg/s (median) | ratio to raw pika | CPU µs/msg (median) | raw pika's CPU / its CPU |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, measurements in results.items():
        rate = statistics.median(m.rate for m in measurements)
        cpu = statistics.median(m.cpu_us for m in measurements)
        print(f"| {name} | {rate:.0f} | {rate / raw_rate:.2f} | {cpu:.1f} | {raw_cpu / cpu:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
