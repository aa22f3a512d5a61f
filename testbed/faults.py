"""Zero loss under faults: the real system driven with marked requests while faults are injected, then an
accounting.

The core of ``python -m bench.fault_run`` (its command line, tables and verdict) and of the suite's
short fault runs (tests/test_faults.py, tests/test_cluster_faults.py). ``run`` starts its own
RabbitMQ node (so it can be restarted without touching any other), or with ``run_cluster`` a
three-node cluster, the gateway under gunicorn and two consumer processes (primary and shadow,
each recording the marker of every request it handled; the primary retries failures at the
product's default schedule, the shadow at an operator's short one, starting at 200 ms), and
sends a steady stream of signed slash commands, each with a unique marker. Faults are injected
one scenario at a time (then, with ``mixed``, all again in random order). At the end every
request is accounted for: answered 200 / 503 / other / no answer, and for each consumer every
marker that got a 200 must have been handled.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import os
import random
import signal
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
from testbed import http, slack
from testbed.cluster import Cluster
from testbed.private_broker import PrivateBroker
from testbed.processes import Process, child_pids, free_port, http_ok, python_module
from testbed.waiting import eventually

CONSUMERS = ("primary", "shadow")
HANDLER = "testbed.fault_handlers:record"
SHORT_RETRY_DELAYS_MS = (200, 1_000, 2_000, 5_000, 10_000)
RETRY_SCHEDULES = {"primary": RETRY_DELAYS_MS, "shadow": SHORT_RETRY_DELAYS_MS}
"""Each consumer's CONSUMER_RETRY_DELAYS_MS: the default, and a short one with a sub-second first retry."""


class System:
    """The broker, the gateway and the consumers, each of which a scenario may break."""

    def __init__(self, workdir: Path, shadow_bound: int, down_seconds: float, cluster: bool = False) -> None:
        self.workdir = workdir
        self.shadow_bound = shadow_bound
        self.down_seconds = down_seconds
        self.broker: PrivateBroker | Cluster = Cluster() if cluster else PrivateBroker()
        self.faults: list[tuple[str, float]] = []  # (scenario, wall-clock time it struck)
        self.majority_lost: list[tuple[float, float]] = []  # wall-clock windows without a majority
        self.fail_flag = workdir / "downstream-down"
        self.consumers: dict[str, Process] = {}
        self.gateway: Process | None = None
        self.url = f"http://127.0.0.1:{free_port()}"
        self._restarts = collections.Counter[str]()
        self.kills: dict[str, list[float]] = collections.defaultdict(list)
        """Each consumer's SIGKILLs, by wall-clock time: the moments an effect may be repeated."""

    def start(self) -> None:
        self.broker.start()
        for policy in bounding_policies(max_length=self.shadow_bound):  # as rabbitmq/definitions.json does
            self.broker.ctl("set_policy", "--apply-to", "queues", "--priority", str(policy["priority"]),
                            policy["name"], policy["pattern"], json.dumps(policy["definition"]))  # fmt: skip
        for name in CONSUMERS:
            self.start_consumer(name)
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        bind = self.url.removeprefix("http://")
        env: dict[str, str | None] = {
            "AMQP_URL": self.broker.amqp_url,
            "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
        }
        self.gateway = Process(
            [gunicorn, "-c", "gateway/gunicorn.conf.py", "-b", bind], env, self._log("gateway")
        )
        self.gateway.wait_for(lambda: http_ok(f"{self.url}/readyz"), "the gateway to be ready", 30)

    def start_consumer(self, name: str) -> None:
        env: dict[str, str | None] = {
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
        """Raises ``TimeoutExpired`` when it has not stopped within 20 s, and kills it then."""
        process = self.consumers.pop(name)
        if signum == signal.SIGKILL:
            self.kills[name].append(time.time())
        process.signal(signum)
        try:
            process.popen.wait(20)
        finally:
            process.stop()

    def record_file(self, name: str) -> Path:
        return self.workdir / f"{name}.handled"

    def handled(self, name: str) -> list[tuple[str, float]]:
        """(marker, when) of each request consumer ``name`` handled, in order."""
        if not self.record_file(name).exists():
            return []
        lines = self.record_file(name).read_text().splitlines()
        return [(marker, float(when)) for marker, when in (line.split() for line in lines)]

    def struck(self, scenario: str) -> None:
        """The fault is in effect now (the node is dead, not just being killed)."""
        self.faults.append((scenario, time.time()))

    def queue_depths(self) -> dict[str, int]:
        """Each consumer queue's messages, ready, in a consumer's hands or being dead-lettered."""
        messages = self.broker.messages()
        return {queue: messages.get(queue, 0) for name in CONSUMERS for queue in _queues_of(name)}

    def close(self) -> None:
        """Consumers, then the gateway, then the broker: each stopped even when an earlier one failed to."""
        with contextlib.ExitStack() as parts:
            parts.callback(self.broker.close)
            if self.gateway is not None:
                parts.callback(self.gateway.stop)
            for name in list(self.consumers):
                parts.callback(self.stop_consumer, name, signal.SIGTERM)

    def _log(self, name: str) -> Path:
        self._restarts[name] += 1
        return self.workdir / f"{name}-{self._restarts[name]}.log"


def _node(system: System) -> PrivateBroker:
    assert isinstance(system.broker, PrivateBroker), "a single-node scenario, not for --cluster"
    return system.broker


def broker_restart(system: System) -> None:
    _node(system).stop_app()
    time.sleep(3)
    _node(system).start_app()


def consumer_killed(system: System) -> None:
    for name in CONSUMERS:
        system.stop_consumer(name, signal.SIGKILL)
    time.sleep(1)
    for name in CONSUMERS:
        system.start_consumer(name)


def gateway_worker_killed(system: System) -> None:
    assert system.gateway is not None
    os.kill(child_pids(system.gateway.popen.pid)[0], signal.SIGKILL)  # gunicorn starts another


def handler_failing(system: System, seconds: float = 3) -> None:
    system.fail_flag.touch()
    time.sleep(seconds)
    system.fail_flag.unlink()


def handler_failing_across_restart(system: System) -> None:
    """Failed messages wait in the retry queues while the broker restarts, their delays running out."""
    system.fail_flag.touch()
    time.sleep(1.5)
    _node(system).stop_app()
    time.sleep(3)
    _node(system).start_app()
    system.fail_flag.unlink()


def consumers_down(system: System) -> None:
    for name in CONSUMERS:
        system.stop_consumer(name, signal.SIGTERM)
    time.sleep(system.down_seconds)
    for name in CONSUMERS:
        system.start_consumer(name)


def _cluster(system: System) -> Cluster:
    assert isinstance(system.broker, Cluster), "a cluster scenario needs --cluster"
    return system.broker


def leader_killed(system: System) -> None:
    """SIGKILL the node that leads the primary's queue; it boots again 2 s later."""
    leader = _cluster(system).leader_of(consumer_queue("primary"))
    leader.kill()
    system.struck("leader-sigkill")
    time.sleep(2)
    leader.start()


def node_paused(system: System) -> None:
    """SIGSTOP a node for 10 s (it holds its connections and answers nothing), then SIGCONT."""
    node = _cluster(system).nodes[-1]
    node.pause()
    system.struck("node-sigstop")
    time.sleep(10)
    node.resume()


def rolling_restart(system: System) -> None:
    """Each node in turn stopped gracefully and booted again, as an upgrade does."""
    system.struck("rolling-restart")
    for node in _cluster(system).nodes:
        node.stop()
        node.start()


MAJORITY_DOWN_SECONDS = 10


def majority_lost(system: System) -> None:
    """Two of three nodes SIGKILLed for 10 s: no queue has a majority, so no request may get a 200.

    The first two: the clients, given the nodes in order, are connected to the first, so they
    fail over too, to the one node left."""
    lost = _cluster(system).nodes[:2]
    for node in lost:
        node.kill()
    down_since = time.time()
    system.struck("majority-lost")
    time.sleep(MAJORITY_DOWN_SECONDS)
    system.majority_lost.append((down_since, time.time()))
    for node in lost:
        node.start(wait=False)
    for node in lost:
        node.wait_until_serving()


def consumer_node_killed(system: System) -> None:
    """SIGKILL the node the primary consumer is connected to, while it has messages in hand."""
    cluster = _cluster(system)
    consuming = [r for r in system.consumers["primary"].log_records() if r.get("message") == "consuming"]
    node = cluster.node_at(int(consuming[-1]["node"].rpartition(":")[2]))
    node.kill()
    system.struck("consumer-node-sigkill")
    time.sleep(2)
    node.start()


CLUSTER_SCENARIOS: dict[str, Callable[[System], None]] = {
    "leader-sigkill": leader_killed,
    "node-sigstop": node_paused,
    "rolling-restart": rolling_restart,
    "majority-lost": majority_lost,
    "consumer-node-sigkill": consumer_node_killed,
}

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
    """A steady stream of marked requests; every outcome kept by marker, and when it was sent and answered."""

    url: str
    rate: float
    outcomes: dict[str, object] = field(default_factory=dict)
    times: dict[str, tuple[float, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self, workers: int = 8) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._send, args=(n, workers), daemon=True) for n in range(workers)
        ]
        for thread in threads:
            thread.start()
        return threads

    def sent_since(self, moment: float) -> set[str]:
        """The markers of the requests sent at ``moment`` or later whose outcome is in."""
        return {marker for marker, (sent, _answered) in list(self.times.items()) if sent >= moment}

    def answered_200_since(self, moment: float) -> bool:
        """Whether a request sent at ``moment`` or later was answered 200."""
        return any(self.outcomes.get(marker) == 200 for marker in self.sent_since(moment))

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
            sent = time.time()
            try:
                reply = http.post(
                    self.url, slack.signed(slack.slash_command(text=marker), slack.FORM), timeout=5
                )
                self.outcomes[marker] = reply.status
            except OSError:
                self.outcomes[marker] = "no answer"
            self.times[marker] = (sent, time.time())
            time.sleep(max(interval - (time.monotonic() - started), 0))


KILL_WINDOW_S = 0.1
"""How long before a SIGKILL a handler's effect can have come without its ledger line: back from
writing the effect, the handler's thread may wait for the GIL (switched every 5 ms) before it
writes the line. docs/consumers.md, "Effect once", names this window."""


@dataclass(frozen=True)
class ConsumerAccount:
    handled: int
    duplicates: int
    """Requests handled more than once, but for those ``repeated_after_kill`` explains."""
    repeated_after_kill: int
    """Requests handled again after their consumer was SIGKILLed within ``KILL_WINDOW_S`` of the
    first handling: the window between a handler's effect and its ledger line."""
    lost: list[str]
    without_200: int
    dead_letters: int
    bounded: bool
    only_oldest_lost: bool
    """No request it handled was published after one it lost and before another: what a queue that
    drops its oldest message at its bound loses, and nothing else."""

    @property
    def unexplained(self) -> int:
        """Losses not accounted for: any, for an unbounded consumer; any but the oldest its bound
        dropped, for a bounded one."""
        return 0 if self.bounded and self.only_oldest_lost else len(self.lost)


def account(load: Load, system: System) -> tuple[collections.Counter, dict[str, ConsumerAccount]]:
    answers = collections.Counter(load.outcomes.values())
    ok = {marker for marker, outcome in load.outcomes.items() if outcome == 200}
    depths = system.queue_depths()
    accounts = {}
    for name in CONSUMERS:
        handlings = system.handled(name)
        handled = collections.Counter(marker for marker, _when in handlings)
        lost = sorted(ok - handled.keys())
        repeated = repeated_after_kill(handlings, system.kills[name])
        accounts[name] = ConsumerAccount(
            handled=len(handled),
            duplicates=sum(count - 1 for count in handled.values()) - len(repeated),
            repeated_after_kill=len(repeated),
            lost=lost,
            without_200=len(handled.keys() - ok),
            dead_letters=depths[dead_letter_queue(name)],
            bounded=name not in UNBOUNDED_CONSUMERS,
            only_oldest_lost=lost_only_the_oldest(lost, handled.keys() & ok, load.times),
        )
    return answers, accounts


def repeated_after_kill(handlings: list[tuple[str, float]], kills: list[float]) -> set[str]:
    """The requests handled twice whose first handling came at most ``KILL_WINDOW_S`` before a kill
    of their consumer: handled, then killed before the ledger's line, then delivered again."""
    first: dict[str, float] = {}
    repeated = set()
    for marker, when in handlings:
        if marker not in first:
            first[marker] = when
        elif any(0 <= kill - first[marker] <= KILL_WINDOW_S for kill in kills):
            repeated.add(marker)
    return repeated


def lost_only_the_oldest(lost: list[str], handled: set[str], times: dict[str, tuple[float, float]]) -> bool:
    """The load's workers send at once, so a request reached the queue at some moment between its
    sending and its answer (``times``). A handled request sent after a lost one was answered is
    newer than it; answered before another lost one was sent, older: kept between two drops."""
    if not lost:
        return True
    first_lost_answered = min(times[m][1] for m in lost)
    last_lost_sent = max(times[m][0] for m in lost)
    return not any(first_lost_answered < times[m][0] and times[m][1] < last_lost_sent for m in handled)


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
    """Inject each scenario under load, as ``_drive`` paces them; returns the final accounting."""
    system = System(Path(tempfile.mkdtemp(prefix="slack-fanout-faults-")), shadow_bound, down_seconds)
    try:
        system.start()
        load = _drive(system, scenarios, rate, settle, mixed)
        return account(load, system)
    finally:
        system.close()


@dataclass(frozen=True)
class Recovery:
    scenario: str
    to_first_200: float | None
    """Seconds from the fault to the first 200 for a request sent after it."""
    to_first_handled: float | None
    """Seconds from the fault to the primary's first handling of a request sent after it."""


@dataclass(frozen=True)
class ClusterResult:
    answers: collections.Counter
    accounts: dict[str, ConsumerAccount]
    recoveries: list[Recovery]
    ok_without_majority: int
    """Requests sent and answered 200 while two of three nodes were down: must be 0."""
    leaders: dict[str, str]
    """Each consumer queue's leading node once the consumers had declared them (all from one node)."""


def run_cluster(scenarios: list[str], rate: float, settle: float, mixed: bool) -> ClusterResult:
    """As ``run``, on a three-node cluster, with each fault's recovery times."""
    system = System(Path(tempfile.mkdtemp(prefix="slack-fanout-cluster-faults-")), BOUNDED_QUEUE_MAX_LENGTH,
                    down_seconds=10, cluster=True)  # fmt: skip
    try:
        system.start()
        queues = set(system.queue_depths())
        leaders = {queue: node for queue, node in _cluster(system).leaders().items() if queue in queues}
        load = _drive(system, scenarios, rate, settle, mixed)
        answers, accounts = account(load, system)
        handled = system.handled("primary")
        recoveries = [_recovery(name, at, load, handled) for name, at in system.faults]
        ok_without_majority = sum(
            1
            for marker, (sent, answered) in load.times.items()
            if load.outcomes.get(marker) == 200
            and any(start <= sent and answered <= end for start, end in system.majority_lost)
        )
        return ClusterResult(answers, accounts, recoveries, ok_without_majority, leaders)
    finally:
        system.close()


def _recovery(scenario: str, at: float, load: Load, handled: list[tuple[str, float]]) -> Recovery:
    after = load.sent_since(at)
    answered = [load.times[m][1] for m in after if load.outcomes.get(m) == 200]
    handled_after = [when for marker, when in handled if marker in after]
    return Recovery(
        scenario,
        min(answered) - at if answered else None,
        min(handled_after) - at if handled_after else None,
    )


RECOVERY_TIMEOUT_S = 60.0
"""How long the load runs on after a fault, at most, for the first 200 of a request sent after it."""


class NotRecovered(Exception):
    """No request sent after a fault was answered 200 within ``RECOVERY_TIMEOUT_S``."""


def _drive(system: System, scenarios: list[str], rate: float, settle: float, mixed: bool) -> Load:
    """Steady load with each scenario injected ``settle`` seconds after the system answered a
    request sent once the fault before was over with a 200; returns once all is drained.

    Waiting for that 200, rather than for a fixed time, keeps the load on however long nodes
    take to boot and elect leaders on a loaded machine; the recovery times say how long it was.
    """
    load = Load(system.url, rate)
    threads = load.run()
    order = scenarios + (random.sample(scenarios, len(scenarios)) if mixed else [])
    for name in order:
        time.sleep(settle)
        print(f"{time.strftime('%H:%M:%S')} injecting: {name}", flush=True)
        {**SCENARIOS, **CLUSTER_SCENARIOS}[name](system)  # returns once the fault is over
        recovered = functools.partial(load.answered_200_since, time.time())
        try:
            eventually(
                recovered, f"a 200 after {name}", RECOVERY_TIMEOUT_S, interval=0.2, failure=NotRecovered
            )
        except NotRecovered as error:
            print(f"{time.strftime('%H:%M:%S')} {error}", flush=True)  # the accounting reports no recovery
    time.sleep(settle)
    load.stop(threads)
    wait_for_drain(system)
    return load


def measure_rate(cluster: bool, seconds: float = 10, clients: int = 16) -> float:
    """Requests answered 200 per second through the gateway, as fast as ``clients`` threads send them."""
    system = System(Path(tempfile.mkdtemp(prefix="slack-fanout-rate-")), BOUNDED_QUEUE_MAX_LENGTH,
                    down_seconds=0, cluster=cluster)  # fmt: skip
    try:
        system.start()
        load = Load(system.url, rate=float("inf"))
        threads = load.run(workers=clients)
        time.sleep(seconds)
        load.stop(threads)
        return sum(1 for outcome in load.outcomes.values() if outcome == 200) / seconds
    finally:
        system.close()
