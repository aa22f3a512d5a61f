"""Gateway throughput and latency beside a bare Flask app, under the same gunicorn configuration.

    python -m bench.gateway_bench [--rounds 3] [--duration 10] [--connections 32]

Starts six servers from ``gateway/gunicorn.conf.py``: the bare Flask app (the ceiling);
the gateway as shipped (gevent workers, pipelined confirms, Slack's endpoint in front of
Flask); **the A/B baseline**, the gateway as it was when the capacity work began (commit
``FILED_AT``, its own code and configuration: gthread workers, the endpoint a Flask view),
extracted from the repository's history; that design on today's endpoint code, and today's
gevent workers with the endpoint a Flask view, so the run shows what each change gives; and
the naive baseline (one blocking confirmed publish per request). Drives each with wrk posting
a signed slash command, round after round, and prints medians and ratios. Every 200 must be
in both bound queues (one quorum, one classic), or the run fails. Then: latency at half the
gateway's maximum rate, latency under overload (no answer may take 3 s), and the gateway
workers' memory.

Every server runs at the product's defaults (INFO logs: the gateway writes its "published" line
per request). Needs wrk, a RabbitMQ with the management API (AMQP_URL / RABBITMQ_MANAGEMENT_URL), and
the machine to itself: broker, servers and wrk share its cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

import pika

from slack_fanout.topology import INBOUND_EXCHANGE
from testbed import slack
from testbed.broker_probe import paced_latency, probe
from testbed.management import BrokerAdmin
from testbed.processes import REPO, Process, child_pids, free_port, http_ok

QUEUES = {"bench.quorum": {"x-queue-type": "quorum"}, "bench.classic": {"x-queue-type": "classic"}}
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


@dataclass(frozen=True)
class Target:
    name: str
    config: str
    app: str | None
    publishes: bool
    env: tuple[tuple[str, str], ...] = ()
    """Settings of this server beyond the common ones."""
    revision: str | None = None
    """Run the code of this commit, taken from the repository's history, instead of the working tree."""


FLASK_VIEW = "bench.flask_view_app:create_flask_view_app()"
FILED_AT = "a02be8d"
"""The gateway whose rate the 2x target is measured against: its code did not change from this
commit until the capacity work began."""
BARE = Target("bare flask", "bench/bare.gunicorn.conf.py", None, publishes=False)
GATEWAY = Target("gateway", "gateway/gunicorn.conf.py", None, publishes=True)
# The endpoint as a Flask view, on the same gevent workers: what the ingress in front of Flask saves.
VIEW = Target("gateway, Flask view", "gateway/gunicorn.conf.py", FLASK_VIEW, publishes=True)
# The design the capacity work started from, on today's endpoint code: a thread per request
# (gunicorn's gthread), the endpoint a Flask view. What the design alone gives.
GTHREAD = Target(
    "gthread, Flask view",
    "gateway/gunicorn.conf.py",
    FLASK_VIEW,
    publishes=True,
    env=(("GUNICORN_CMD_ARGS", "-k gthread --threads 32"),),
)
NAIVE_APP = "bench.naive_app:create_naive_app()"
NAIVE = Target("naive gateway", "gateway/gunicorn.conf.py", NAIVE_APP, publishes=True)
# The gateway as it was when the capacity work began, its own code and configuration: the 2x target.
FILED = Target(f"gateway at {FILED_AT}", "gateway/gunicorn.conf.py", None, publishes=True, revision=FILED_AT)
TARGETS = [BARE, GATEWAY, VIEW, GTHREAD, NAIVE, FILED]


@dataclass(frozen=True)
class WrkResult:
    requests: int
    non_2xx: int
    socket_errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms: float = 0.0
    """CPU time of the server's workers per request answered 200."""
    broker_cpu_ms: float = 0.0
    """CPU time of the broker per request answered 200 (0 when the broker is not on this machine)."""

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        amqp = urllib.parse.urlsplit(os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/%2F"))
        self.user, self.password = amqp.username or "guest", amqp.password or "guest"
        self.host, self.port = amqp.hostname or "localhost", amqp.port or 5672
        management = os.environ.get("RABBITMQ_MANAGEMENT_URL", f"http://{self.host}:15672")
        self.management = BrokerAdmin(management, self.user, self.password)
        self.vhost = f"bench-{uuid.uuid4().hex[:8]}"
        self.workdir = Path(tempfile.mkdtemp(prefix="slack-fanout-bench-"))
        self.servers: dict[str, tuple[Process, str]] = {}

    @property
    def amqp_url(self) -> str:
        return f"amqp://{self.user}:{self.password}@{self.host}:{self.port}/{self.vhost}"

    def setup(self, targets: list[Target] = TARGETS) -> None:
        self.management.create_vhost(self.vhost)
        with self.channel() as channel:
            channel.exchange_declare(INBOUND_EXCHANGE, "fanout", durable=True)
            for queue, arguments in self.queues().items():
                channel.queue_declare(queue, durable=True, arguments=arguments)
                channel.queue_bind(queue, INBOUND_EXCHANGE)
        for target in targets:
            self.servers[target.name] = self.start(target)

    def queues(self) -> dict[str, dict[str, str]]:
        """The queues bound to the exchange, with their arguments; every 200 is checked in ``QUEUES``."""
        return QUEUES

    def teardown(self) -> None:
        for process, _url in self.servers.values():
            process.stop()
        self.management.delete_vhost(self.vhost)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def channel(self):
        return _ChannelScope(self.amqp_url)

    def start(self, target: Target) -> tuple[Process, str]:
        port = free_port()
        argv = [
            GUNICORN,
            "-c",
            target.config,
            "-b",
            f"127.0.0.1:{port}",
            *([target.app] if target.app else []),
        ]
        env = {
            "AMQP_URL": self.amqp_url,
            "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
            **dict(target.env),
        }
        code = REPO
        if target.revision is not None:
            code = self.checkout(target.revision)
            env["PYTHONPATH"] = str(code)  # before the installed (editable) package on the path
        log = self.workdir / f"{target.name.replace(' ', '-')}.log"
        process = Process(argv, env, log, cwd=code)
        url = f"http://127.0.0.1:{port}"
        process.wait_for(lambda: http_ok(f"{url}/healthz") or _answers(url), f"{target.name} to start", 30)
        return process, url

    def checkout(self, revision: str) -> Path:
        """The gateway's packages as they were at ``revision``, from the repository's history."""
        directory = self.workdir / revision
        directory.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "gateway", "slack_fanout"],
                                 capture_output=True, check=False)  # fmt: skip
        if archive.returncode != 0:
            raise SystemExit(f"cannot read commit {revision} from the repository's history (a shallow "
                             f"clone?): {archive.stderr.decode().strip()}")  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
        return directory

    def queue_depths(self) -> list[int]:
        with self.channel() as channel:
            return [channel.queue_declare(q, passive=True).method.message_count for q in QUEUES]

    def purge(self) -> None:
        with self.channel() as channel:
            for queue in QUEUES:
                channel.queue_purge(queue)

    def wrk(
        self,
        url: str,
        connections: int,
        seconds: float,
        delay_ms: float = 0,
        request: slack.SlackRequest | None = None,
        threads: int = 2,
    ) -> WrkResult:
        """wrk posting ``request`` (by default a signed slash command, signed now) to its path at ``url``."""
        if request is None:
            request = slack.signed(slack.slash_command(), slack.FORM)  # fresh timestamp each run
        (self.workdir / "body").write_bytes(request.body)
        (self.workdir / "headers").write_text("".join(f"{k}: {v}\n" for k, v in request.headers.items()))
        env = {
            **os.environ,
            "BENCH_BODY": str(self.workdir / "body"),
            "BENCH_HEADERS": str(self.workdir / "headers"),
            "BENCH_DELAY_MS": str(delay_ms),
        }
        script = str(REPO / "bench" / "wrk_post.lua")
        command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds:g}s",
                   "--timeout", "10s", "-s", script, f"{url}{request.path}"]  # fmt: skip
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        fields = dict(part.split("=") for part in output.split("BENCH ", 1)[1].split())
        return WrkResult(
            requests=int(fields["requests"]),
            non_2xx=int(fields["errors_status"]),
            socket_errors=int(fields["errors_connect"]) + int(fields["errors_timeout"]),
            seconds=int(fields["duration_us"]) / 1e6,
            p50_ms=int(fields["p50_us"]) / 1000,
            p99_ms=int(fields["p99_us"]) / 1000,
            max_ms=int(fields["max_us"]) / 1000,
        )

    def measured_run(
        self, target: Target, connections: int, seconds: float, delay_ms: float = 0
    ) -> WrkResult:
        """One wrk run with the CPU it cost; for a publishing target, proves every 200 reached both queues."""
        if target.publishes:
            self.purge()
        workers, brokers = self.worker_pids(target), _broker_pids()
        cpu_before = {pid: _cpu_seconds(pid) for pid in (*workers, *brokers)}
        result = self.wrk(self.servers[target.name][1], connections, seconds, delay_ms)
        cpu_after = {pid: _cpu_seconds(pid) for pid in cpu_before}
        if target.publishes:
            self.check_delivery(target, result)

        def cpu_ms_per_request(pids: list[int]) -> float:
            return sum(cpu_after[pid] - cpu_before[pid] for pid in pids) * 1000 / max(result.ok, 1)

        return dataclasses.replace(
            result, server_cpu_ms=cpu_ms_per_request(workers), broker_cpu_ms=cpu_ms_per_request(brokers)
        )

    def check_delivery(self, target: Target, result: WrkResult) -> None:
        """Every 200 must be in both queues. More is no loss: wrk stops mid-flight and gives up on
        slow answers, so some requests are published without their 200 being counted."""
        quorum, classic = self.settled_depths()
        if quorum != classic or quorum < result.ok:
            raise SystemExit(
                f"{target.name}: {result.ok} answered 200 but queues hold {quorum} and {classic}"
            )

    def settled_depths(self, timeout: float = 10) -> list[int]:
        """The queue depths once two readings agree: a quorum queue reports its count a little late."""
        depths, give_up = self.queue_depths(), time.monotonic() + timeout
        while time.monotonic() < give_up:
            time.sleep(0.3)
            depths, previous = self.queue_depths(), depths
            if depths == previous and len(set(depths)) == 1:
                break
        return depths

    def rounds(
        self, targets: list[Target], args: argparse.Namespace, connections: int, delay_ms: float = 0
    ) -> dict[str, list[WrkResult]]:
        """``args.rounds`` rounds of one run per target in turn, so the machine's drift falls on all alike."""
        results: dict[str, list[WrkResult]] = {target.name: [] for target in targets}
        for round_number in range(1, args.rounds + 1):
            for target in targets:
                result = self.measured_run(target, connections, args.duration, delay_ms)
                results[target.name].append(result)
                print(f"round {round_number} {target.name:16} {result.rate:8.0f} req/s  "
                      f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  non-2xx {result.non_2xx}  "
                      f"CPU ms/req server {result.server_cpu_ms:.2f} broker {result.broker_cpu_ms:.2f}",
                      flush=True)  # fmt: skip
        return results

    def worker_pids(self, target: Target) -> list[int]:
        return child_pids(self.servers[target.name][0].popen.pid)

    def worker_rss_mb(self, target: Target) -> list[float]:
        return [_rss_mb(pid) for pid in self.worker_pids(target)]


class _ChannelScope:
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self):
        self.connection = pika.BlockingConnection(pika.URLParameters(self.url))
        return self.connection.channel()

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def _answers(url: str) -> bool:
    """Any HTTP answer, an error status too, means the server is up (the bare app has no /healthz)."""
    try:
        import urllib.request

        urllib.request.urlopen(url, timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _broker_pids() -> list[int]:
    """The local RabbitMQ's Erlang VMs (none when the broker runs elsewhere)."""
    found = subprocess.run(["pgrep", "-x", "beam.smp"], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def _broker_cpu_seconds() -> float:
    return sum(_cpu_seconds(pid) for pid in _broker_pids())


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(args: argparse.Namespace) -> None:
    bench = Bench(args)
    bench.setup()
    try:
        results = bench.rounds(TARGETS, args, args.connections)
        print_summary(results)
        max_rate = median(results[GATEWAY.name], "rate")
        print(f"\nthe gateway against itself at {FILED_AT}, before the capacity work: "
              f"{_ratios(results, GATEWAY, FILED)}")  # fmt: skip
        print(f"against that design on today's endpoint code (gthread, the endpoint a Flask view): "
              f"{_ratios(results, GATEWAY, GTHREAD)}")  # fmt: skip
        print(f"against the same gevent workers with the endpoint a Flask view: "
              f"{_ratios(results, GATEWAY, VIEW)}")  # fmt: skip
        print_broker_alone(bench, args)
        print_half_rate(bench, max_rate, args)
        print_overload(bench, GATEWAY, args)
        rss = bench.worker_rss_mb(GATEWAY)
        print(f"\ngateway worker RSS: {', '.join(f'{mb:.1f} MB' for mb in rss)}")
    finally:
        bench.teardown()


def _ratios(results: dict[str, list[WrkResult]], target: Target, baseline: Target) -> str:
    """The ratio of the medians, then each round's (every round runs each server once, in turn)."""
    ours, theirs = results[target.name], results[baseline.name]
    rounds = ", ".join(f"{a.rate / b.rate:.2f}" for a, b in zip(ours, theirs, strict=True))
    return f"{median(ours, 'rate') / median(theirs, 'rate'):.2f}x (rounds {rounds})"


def median(runs: list[WrkResult], field: str) -> float:
    return statistics.median(getattr(run, field) for run in runs)


def print_summary(results: dict[str, list[WrkResult]], title: str = "") -> None:
    """One row per server, its rate as a ratio to the first one's."""
    baseline = next(iter(results))
    print(f"\n{title}\n" if title else "")
    print(f"| server | req/s (median) | ratio to {baseline} | p50 ms | p99 ms | max ms "
          "| server CPU ms/req | broker CPU ms/req |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    baseline_rate = median(results[baseline], "rate")
    for name, runs in results.items():
        rate, slowest = median(runs, "rate"), max(r.max_ms for r in runs)
        print(f"| {name} | {rate:.0f} | {rate / baseline_rate:.2f} | {median(runs, 'p50_ms'):.2f} "
              f"| {median(runs, 'p99_ms'):.2f} | {slowest:.0f} | {median(runs, 'server_cpu_ms'):.2f} "
              f"| {median(runs, 'broker_cpu_ms'):.2f} |")  # fmt: skip


def print_broker_alone(bench: Bench, args: argparse.Namespace) -> None:
    """What the broker confirms with no gateway in the way: the floor under the gateway's cost."""
    print("\nthe broker alone (one connection, batched writes, nothing else running):")
    for in_flight in (16, 32, 64):
        result = probe(bench.amqp_url, in_flight, args.duration / 2, _broker_cpu_seconds)
        print(f"  {in_flight:3} in flight: {result.rate:6.0f} confirmed msg/s, "
              f"mean confirm {1000 * in_flight / result.rate:5.1f} ms, "
              f"broker CPU {result.broker_cpu_ms:.2f} ms/msg")  # fmt: skip
    bench.purge()


def print_half_rate(bench: Bench, max_rate: float, args: argparse.Namespace) -> None:
    """Latency at half the maximum rate, beside the broker's own for the same load without HTTP."""
    connections = 8
    target_rate = max_rate / 2
    delay_ms = max(1000 * connections / target_rate - 1, 0.1)
    print(f"\nat about half the gateway's maximum rate ({target_rate:.0f} req/s target):")
    for target in (BARE, GATEWAY):
        result = bench.measured_run(target, connections, args.duration, delay_ms)
        latency = f"p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms"
        print(f"  {target.name:14} {result.rate:6.0f} req/s  {latency}")
    floor = paced_latency(bench.amqp_url, connections, delay_ms, args.duration)
    latency = f"p50 {floor.percentile(0.5):.2f} ms  p99 {floor.percentile(0.99):.2f} ms"
    print(
        f"  {'the broker alone':14} {floor.rate:6.0f} msg/s  {latency}  (the same clients and pauses, "
        "each publishing one message and waiting for its confirm)"
    )
    bench.purge()


def print_overload(bench: Bench, gateway: Target, args: argparse.Namespace) -> None:
    result = bench.measured_run(gateway, args.overload_connections, args.duration)
    print(f"\noverload, {args.overload_connections} connections: {result.rate:.0f} req/s answered 200, "
          f"{result.non_2xx} answered 503, {result.socket_errors} socket errors/timeouts, "
          f"p99 {result.p99_ms:.0f} ms, slowest {result.max_ms:.0f} ms")  # fmt: skip
    if result.max_ms >= 3000:
        raise SystemExit("an answer took 3 s or more: Slack would have given up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--overload-connections", type=int, default=512)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
