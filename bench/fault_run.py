"""Zero loss under faults: drive the real system with marked requests while injecting faults, then account.

    python -m bench.fault_run [--scenarios all] [--rate 100] [--settle 5] [--mixed]

Runs its own RabbitMQ node (so it can be restarted without touching any other), the gateway
under gunicorn and two consumer processes (primary and shadow, each recording the marker of
every request it handled; the primary retries failures at the product's default schedule,
the shadow at an operator's short one, starting at 200 ms), and sends a steady stream of
signed slash commands, each with a unique marker. Faults are injected one scenario at a time
(then, with --mixed, all again in random order). At the end every request is accounted for:
answered 200 / 503 / other / no answer, and for each consumer every marker that got a 200 must
have been handled. Prints a table and exits 1 on any loss.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from slack_fanout.topology import (
    BOUNDED_QUEUE_MAX_LENGTH,
    RETRY_DELAYS_MS,
    UNBOUNDED_CONSUMERS,
    bounding_policies,
    consumer_queue,
    dead_letter_queue,
    retry_queues,
)
from tests.support import http, slack
from tests.support.private_broker import PrivateBroker
from tests.support.processes import Process, free_port, http_ok, python_module

CONSUMERS = ("primary", "shadow")
HANDLER = "bench.fault_handlers:record"
SHORT_RETRY_DELAYS_MS = (200, 1_000, 2_000, 5_000, 10_000)
RETRY_SCHEDULES = {"primary": RETRY_DELAYS_MS, "shadow": SHORT_RETRY_DELAYS_MS}
"""Each consumer's CONSUMER_RETRY_DELAYS_MS: the default, and a short one with a sub-second first retry."""


class System:
    """The broker, the gateway and the consumers, each of which a scenario may break."""

    def __init__(self, workdir: Path, shadow_bound: int, down_seconds: float) -> None:
        self.workdir = workdir
        self.shadow_bound = shadow_bound
        self.down_seconds = down_seconds
        self.broker = PrivateBroker()
        self.fail_flag = workdir / "downstream-down"
        self.consumers: dict[str, Process] = {}
        self.gateway: Process | None = None
        self.url = f"http://127.0.0.1:{free_port()}"
        self._restarts = collections.Counter[str]()

    def start(self) -> None:
        self.broker.start()
        for policy in bounding_policies(max_length=self.shadow_bound):  # as rabbitmq/definitions.json does
            self.broker.ctl("set_policy", "--apply-to", "queues", "--priority", "0",
                            policy["name"], policy["pattern"], json.dumps(policy["definition"]))  # fmt: skip
        for name in CONSUMERS:
            self.start_consumer(name)
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        bind = self.url.removeprefix("http://")
        env = {"AMQP_URL": self.broker.amqp_url, "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET}
        self.gateway = Process(
            [gunicorn, "-c", "gateway/gunicorn.conf.py", "-b", bind], env, self._log("gateway")
        )
        self.gateway.wait_for(lambda: http_ok(f"{self.url}/readyz"), "the gateway to be ready", 30)

    def start_consumer(self, name: str) -> None:
        env = {
            "AMQP_URL": self.broker.amqp_url,
            "FAULT_RECORD_FILE": str(self.record_file(name)),
            "FAULT_FAIL_FLAG": str(self.fail_flag),
            "CONSUMER_STATE_DIR": str(self.workdir / "state"),
            "CONSUMER_RETRY_DELAYS_MS": json.dumps(RETRY_SCHEDULES[name]),
        }
        process = Process(python_module("consumers", "run", name, "--handler", HANDLER), env, self._log(name))
        process.wait_for_log("consuming", timeout=30)
        self.consumers[name] = process

    def stop_consumer(self, name: str, signum: int) -> None:
        process = self.consumers.pop(name)
        process.signal(signum)
        process.popen.wait(20)
        process.stop()

    def record_file(self, name: str) -> Path:
        return self.workdir / f"{name}.handled"

    def queue_depths(self) -> dict[str, int]:
        """Each consumer queue's messages, ready, in a consumer's hands or being dead-lettered."""
        messages = self.broker.messages()
        return {queue: messages.get(queue, 0) for name in CONSUMERS for queue in _queues_of(name)}

    def close(self) -> None:
        for name in list(self.consumers):
            self.stop_consumer(name, signal.SIGTERM)
        if self.gateway is not None:
            self.gateway.stop()
        self.broker.close()

    def _log(self, name: str) -> Path:
        self._restarts[name] += 1
        return self.workdir / f"{name}-{self._restarts[name]}.log"


def broker_restart(system: System) -> None:
    system.broker.stop_app()
    time.sleep(3)
    system.broker.start_app()


def consumer_killed(system: System) -> None:
    for name in CONSUMERS:
        system.stop_consumer(name, signal.SIGKILL)
    time.sleep(1)
    for name in CONSUMERS:
        system.start_consumer(name)


def gateway_worker_killed(system: System) -> None:
    assert system.gateway is not None
    workers = subprocess.run(["pgrep", "-P", str(system.gateway.popen.pid)], capture_output=True, text=True)
    os.kill(int(workers.stdout.split()[0]), signal.SIGKILL)  # gunicorn starts another


def handler_failing(system: System, seconds: float = 3) -> None:
    system.fail_flag.touch()
    time.sleep(seconds)
    system.fail_flag.unlink()


def handler_failing_across_restart(system: System) -> None:
    """Failed messages wait in the retry queues while the broker restarts, their delays running out."""
    system.fail_flag.touch()
    time.sleep(1.5)
    system.broker.stop_app()
    time.sleep(3)
    system.broker.start_app()
    system.fail_flag.unlink()


def consumers_down(system: System) -> None:
    for name in CONSUMERS:
        system.stop_consumer(name, signal.SIGTERM)
    time.sleep(system.down_seconds)
    for name in CONSUMERS:
        system.start_consumer(name)


SCENARIOS: dict[str, Callable[[System], None]] = {
    "broker-restart": broker_restart,
    "consumer-sigkill": consumer_killed,
    "gateway-worker-sigkill": gateway_worker_killed,
    "handler-failing": handler_failing,
    "handler-failing-across-restart": handler_failing_across_restart,
    "consumers-down": consumers_down,
}


@dataclass
class Load:
    """A steady stream of marked requests; every outcome kept by marker."""

    url: str
    rate: float
    outcomes: dict[str, object] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self, workers: int = 8) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._send, args=(n, workers), daemon=True) for n in range(workers)
        ]
        for thread in threads:
            thread.start()
        return threads

    def stop(self, threads: list[threading.Thread]) -> None:
        self._stop.set()
        for thread in threads:
            thread.join()

    def _send(self, worker: int, workers: int) -> None:
        interval = workers / self.rate
        sequence = 0
        while not self._stop.is_set():
            started = time.monotonic()
            marker = f"w{worker}-{sequence}"
            sequence += 1
            try:
                reply = http.post(
                    self.url, slack.signed(slack.slash_command(text=marker), slack.FORM), timeout=5
                )
                self.outcomes[marker] = reply.status
            except OSError:
                self.outcomes[marker] = "no answer"
            time.sleep(max(interval - (time.monotonic() - started), 0))


@dataclass(frozen=True)
class ConsumerAccount:
    handled: int
    duplicates: int
    lost: list[str]
    without_200: int
    dead_letters: int
    bounded: bool

    @property
    def unexplained(self) -> int:
        """Losses not accounted for: any, for an unbounded consumer; beyond what its bound dropped
        (dropped messages are dead-lettered), for a bounded one."""
        return max(len(self.lost) - self.dead_letters, 0) if self.bounded else len(self.lost)


def account(load: Load, system: System) -> tuple[collections.Counter, dict[str, ConsumerAccount]]:
    answers = collections.Counter(load.outcomes.values())
    ok = {marker for marker, outcome in load.outcomes.items() if outcome == 200}
    depths = system.queue_depths()
    accounts = {}
    for name in CONSUMERS:
        handled = collections.Counter(system.record_file(name).read_text().splitlines())
        accounts[name] = ConsumerAccount(
            handled=len(handled),
            duplicates=sum(count - 1 for count in handled.values()),
            lost=sorted(ok - handled.keys()),
            without_200=len(handled.keys() - ok),
            dead_letters=depths[dead_letter_queue(name)],
            bounded=name not in UNBOUNDED_CONSUMERS,
        )
    return answers, accounts


def _queues_of(name: str) -> list[str]:
    return [consumer_queue(name), *retry_queues(name, RETRY_SCHEDULES[name]), dead_letter_queue(name)]


def wait_for_drain(system: System, timeout: float = 120) -> None:
    """Until nothing waits for a consumer any more: neither in its queue nor in a retry queue."""
    deadline = time.monotonic() + timeout
    while any(depth for queue, depth in system.queue_depths().items() if not queue.endswith(".dead")):
        if time.monotonic() > deadline:
            return
        time.sleep(0.5)


def run(
    scenarios: list[str],
    rate: float,
    settle: float,
    mixed: bool,
    shadow_bound: int = BOUNDED_QUEUE_MAX_LENGTH,
    down_seconds: float = 10,
) -> tuple[collections.Counter, dict]:
    """Inject each scenario under load, ``settle`` seconds apart; returns the final accounting."""
    system = System(Path(tempfile.mkdtemp(prefix="slack-fanout-faults-")), shadow_bound, down_seconds)
    try:
        system.start()
        load = Load(system.url, rate)
        threads = load.run()
        order = scenarios + (random.sample(scenarios, len(scenarios)) if mixed else [])
        for name in order:
            time.sleep(settle)
            print(f"{time.strftime('%H:%M:%S')} injecting: {name}", flush=True)
            SCENARIOS[name](system)
        time.sleep(settle)
        load.stop(threads)
        wait_for_drain(system)
        return account(load, system)
    finally:
        system.close()


def render(answers: collections.Counter, accounts: dict[str, ConsumerAccount]) -> str:
    lines = [
        f"requests: {sum(answers.values())}  "
        + "  ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=str)),
        "",
        "| consumer | bounded | handled | duplicates | lost (200, not handled) | handled, no 200 "
        "| dead-lettered | unexplained loss |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, a in accounts.items():
        bounded = "yes" if a.bounded else "no"
        lines.append(
            f"| {name} | {bounded} | {a.handled} | {a.duplicates} | {len(a.lost)} | {a.without_200} "
            f"| {a.dead_letters} | {a.unexplained} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="all", help=f"comma-separated, from: {', '.join(SCENARIOS)}")
    parser.add_argument("--rate", type=float, default=100, help="requests per second")
    parser.add_argument("--settle", type=float, default=5, help="seconds of plain load between faults")
    parser.add_argument("--mixed", action="store_true", help="then inject them all again, in random order")
    parser.add_argument("--shadow-bound", type=int, default=BOUNDED_QUEUE_MAX_LENGTH,
                        help="bounded consumers' queue cap; a small one shows drops counted")  # fmt: skip
    parser.add_argument(
        "--down", type=float, default=60, help="seconds the consumers stay down (consumers-down)"
    )
    arguments = parser.parse_args()
    scenarios = list(SCENARIOS) if arguments.scenarios == "all" else arguments.scenarios.split(",")
    answers, accounts = run(
        scenarios, arguments.rate, arguments.settle, arguments.mixed, arguments.shadow_bound, arguments.down
    )
    print(render(answers, accounts))
    unexplained = {name: a.lost[:10] for name, a in accounts.items() if a.unexplained}
    if unexplained:
        print(f"LOST: {unexplained}", file=sys.stderr)
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
