"""A dead or slow shadow against the primary path: gateway rate and latency, primary completeness.

    python -m bench.isolation_bench [--duration 20] [--rate R] [--bound 100000] [--rounds 3]

In a fresh vhost loaded with the project's definitions (the bounding policy at ``--bound``
messages, by default the product's own) it runs the gateway under ``gateway/gunicorn.conf.py``
and a fast primary consumer, then drives the gateway with wrk in three scenarios, interleaved
round by round so machine noise hits all of them: the shadow consuming with a no-op handler,
the shadow stopped (its queue still bound, and filled to its bound before the run, so that
every request drops the oldest copy), and the shadow taking 200 ms per message. After each run
it checks that the primary handled every request answered 200, samples the shadow queue's depth
and the broker's alarms throughout, and finally prints a markdown table with each scenario's
rate as a ratio to the healthy one, and the broker's CPU per request.

Without ``--rate`` wrk drives the gateway as fast as it answers (Debian's wrk has no ``-R``);
with it, each connection paces its requests to reach about that total rate.
Needs what ``bench.gateway_bench`` needs: wrk, RabbitMQ with the management API, the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from bench.gateway_bench import TARGETS, Bench, Target, WrkResult, _broker_cpu_seconds
from slack_fanout import topology
from slack_fanout.amqp import envelope_properties
from testbed.envelopes import an_envelope
from testbed.processes import Process, python_module
from testbed.waiting import eventually

GATEWAY = next(target for target in TARGETS if target.name == "gateway")
RECORD = "testbed.handlers:record"
NOOP = "bench.consumer_bench:noop"
PRIMARY_QUEUE = topology.consumer_queue("primary")
SHADOW_QUEUES = (topology.consumer_queue("shadow"), topology.dead_letter_queue("shadow"))
SLOW_SECONDS = 0.2
SCENARIOS = ("shadow healthy", "shadow stopped", "shadow slow")


@dataclass(frozen=True)
class Outcome:
    """One scenario run: wrk's figures and what the broker and the primary showed."""

    wrk: WrkResult
    primary_handled: int
    shadow_max_depth: int
    alarm: bool

    @property
    def primary_missing(self) -> int:
        """200s the primary never handled; wrk may also miss a few 200s it stopped waiting for."""
        return max(self.wrk.ok - self.primary_handled, 0)


class IsolationBench(Bench):
    """The gateway and the primary stay up all run; only the shadow changes between scenarios."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.primary_record = self.workdir / "primary.txt"
        self.consumers: list[Process] = []

    def setup(self, targets: Sequence[Target] = (GATEWAY,)) -> None:
        self.management.create_vhost(self.vhost)
        definitions = topology.definitions(vhost=self.vhost)
        definitions["policies"] = topology.bounding_policies(self.vhost, max_length=self.args.bound)
        self.management.request("POST", "definitions", definitions)
        for target in targets:
            self.servers[target.name] = self.start(target)
        self.consumers.append(
            self.consumer("primary", RECORD, {"TEST_RECORD_FILE": str(self.primary_record)})
        )

    def teardown(self) -> None:
        for process in self.consumers:
            process.stop()
        super().teardown()

    def consumer(self, name: str, handler: str, env: dict[str, str], *options: str) -> Process:
        """``python -m consumers run`` as deployed, with a state directory (dedupe ledger) of its own."""
        state = self.workdir / f"{name}-state"
        state.mkdir(exist_ok=True)
        process = Process(
            python_module("consumers", "run", name, "--handler", handler, *options),
            {"AMQP_URL": self.amqp_url, "CONSUMER_STATE_DIR": str(state), **env},
            self.workdir / f"{name}.log",
        )
        process.wait_for_log("consuming", timeout=30)
        return process

    @contextmanager
    def shadow(self, scenario: str) -> Iterator[None]:
        """The shadow of ``scenario`` for the length of the block; then its queues are emptied."""
        process = None
        if scenario == "shadow healthy":
            process = self.consumer("shadow", NOOP, {}, "--shadow")
        elif scenario == "shadow stopped":
            self.fill_shadow_queue()
        elif scenario == "shadow slow":
            env = {
                "TEST_RECORD_FILE": str(self.workdir / "shadow.txt"),
                "TEST_SLEEP_SECONDS": str(SLOW_SECONDS),
            }
            process = self.consumer("shadow", RECORD, env, "--shadow")
        try:
            yield
        finally:
            if process is not None:
                process.stop()
            with self.channel() as channel:
                for queue in SHADOW_QUEUES:
                    channel.queue_purge(queue)

    def fill_shadow_queue(self) -> None:
        """The stopped shadow's queue at its bound before the run starts, so the whole run measures a
        full queue dropping its oldest message for each new one, whatever the bound."""
        envelope = an_envelope()
        body, properties = envelope.encode(), envelope_properties(envelope)
        missing = self.args.bound - self.depth(SHADOW_QUEUES[0])
        with self.channel() as channel:
            for _ in range(max(missing, 0)):
                channel.basic_publish("", SHADOW_QUEUES[0], body, properties)
        eventually(self.shadow_full, "the shadow queue to fill", 300, interval=0.5, failure=SystemExit)

    def shadow_full(self) -> bool:
        return self.depth(SHADOW_QUEUES[0]) >= self.args.bound

    def depth(self, queue: str) -> int:
        with self.channel() as channel:
            return channel.queue_declare(queue, passive=True).method.message_count

    def primary_handled(self) -> int:
        return self.primary_record.read_bytes().count(b"\n") if self.primary_record.exists() else 0

    def primary_settled(self, timeout: float = 120) -> int:
        """The primary's count once its queue is empty and nothing more arrives: the drain is not timed."""
        deadline = time.monotonic() + timeout
        count = self.primary_handled()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            previous, count = count, self.primary_handled()
            if count == previous and self.depth(PRIMARY_QUEUE) == 0:
                break
        return count

    def alarmed(self) -> bool:
        nodes = self.management.get("nodes?columns=name,mem_alarm,disk_free_alarm")
        return any(node.get("mem_alarm") or node.get("disk_free_alarm") for node in nodes)

    def run_scenario(self, scenario: str) -> Outcome:
        connections, rate = self.args.connections, self.args.rate
        delay_ms = max(1000 * connections / rate - 1, 0.1) if rate else 0
        with self.shadow(scenario):
            before = self.primary_settled()
            broker_cpu = _broker_cpu_seconds()
            with Sampler(self) as sampler:
                result = self.wrk(self.servers[GATEWAY.name][1], connections, self.args.duration, delay_ms)
            broker_cpu = _broker_cpu_seconds() - broker_cpu
            handled = self.primary_settled() - before
        result = dataclasses.replace(result, broker_cpu_ms=broker_cpu * 1000 / max(result.ok, 1))
        return Outcome(result, handled, sampler.max_depth, sampler.alarm or self.alarmed())


class Sampler:
    """Watches the shadow queue's depth and the broker's alarms while wrk runs."""

    def __init__(self, bench: IsolationBench, interval: float = 0.5) -> None:
        self.bench = bench
        self.interval = interval
        self.max_depth = 0
        self.alarm = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        with self.bench.channel() as channel:
            while not self._stop.is_set():
                depth = channel.queue_declare(SHADOW_QUEUES[0], passive=True).method.message_count
                self.max_depth = max(self.max_depth, depth)
                self.alarm = self.alarm or self.bench.alarmed()
                self._stop.wait(self.interval)


def run(args: argparse.Namespace) -> None:
    bench = IsolationBench(args)
    try:
        bench.setup()
        outcomes: dict[str, list[Outcome]] = {scenario: [] for scenario in SCENARIOS}
        for round_number in range(1, args.rounds + 1):
            for scenario in SCENARIOS:
                outcome = bench.run_scenario(scenario)
                outcomes[scenario].append(outcome)
                print(f"round {round_number} {scenario:15} {describe(outcome)}", flush=True)
    finally:
        bench.teardown()
    print_table(outcomes, args.bound)
    failures = [
        scenario for scenario, runs in outcomes.items() if not all(passed(o, args.bound) for o in runs)
    ]
    if failures:
        raise SystemExit(f"isolation broken in: {', '.join(failures)}")


def describe(outcome: Outcome) -> str:
    result = outcome.wrk
    return (f"{result.rate:6.0f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms  "
            f"non-200 {result.non_2xx}  broker CPU {result.broker_cpu_ms:.2f} ms/req  "
            f"primary missing {outcome.primary_missing}  "
            f"shadow max {outcome.shadow_max_depth}  alarm {outcome.alarm}")  # fmt: skip


def passed(outcome: Outcome, bound: int) -> bool:
    return outcome.primary_missing == 0 and outcome.shadow_max_depth <= bound and not outcome.alarm


def print_table(outcomes: dict[str, list[Outcome]], bound: int) -> None:
    healthy = statistics.median(o.wrk.rate for o in outcomes[SCENARIOS[0]])
    print("\n| scenario | req/s (median) | ratio to healthy | p50 ms | p99 ms | broker CPU ms/req "
          "| non-200 | primary got every message "
          f"| shadow queue (max seen, bound {bound}) | alarm |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---|")
    for scenario, runs in outcomes.items():
        rate = statistics.median(o.wrk.rate for o in runs)
        p50 = statistics.median(o.wrk.p50_ms for o in runs)
        p99 = statistics.median(o.wrk.p99_ms for o in runs)
        broker_cpu = statistics.median(o.wrk.broker_cpu_ms for o in runs)
        missing = sum(o.primary_missing for o in runs)
        complete = "yes" if all(o.primary_missing == 0 for o in runs) else f"no ({missing} missing)"
        alarm = "yes" if any(o.alarm for o in runs) else "none"
        print(f"| {scenario} | {rate:.0f} | {rate / healthy:.2f} | {p50:.1f} | {p99:.1f} | "
              f"{broker_cpu:.2f} | {sum(o.wrk.non_2xx for o in runs)} | {complete} | "
              f"{max(o.shadow_max_depth for o in runs)} | {alarm} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per scenario run")
    parser.add_argument("--rate", type=float, help="paced total requests/s (default: as fast as answered)")
    parser.add_argument(
        "--bound",
        type=int,
        default=topology.BOUNDED_QUEUE_MAX_LENGTH,
        help="max-length of the shadow's queue (default: the product's)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    # Ctrl-C or a kill must still stop the consumers and the gateway (own sessions) and delete the vhost.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
