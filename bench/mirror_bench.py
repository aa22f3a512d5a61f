"""The whole system beside the one it replaces (seed 000): nginx ``mirror`` in front of two Flask apps.

    python -m bench.mirror_bench [--rounds 3] [--duration 10] [--connections 16] [--shadows healthy,slow]
                                 [--json]

Both systems host the same app, the seed's Flask bot (``bench.seed_apps``), once as the
primary and once as the shadow, and take the same load: wrk (one thread, 16 connections)
posting a token-only outgoing webhook to ``/``, which the primary answers in its HTTP response.

- nginx mirror: nginx proxies each request to the primary's gunicorn and mirrors it to the
  shadow's (``mirror``, ``mirror_request_body``); each app under gunicorn with two (sync)
  workers, the way such an app is commonly served.
- slack-fanout as shipped (compose.yaml, scripts/run-local): ``slack-fanout gateway`` with the
  primary's answer passed through (``REPLY_PASSTHROUGH=true``), ``slack-fanout consume primary
  --wsgi … --reply`` and ``slack-fanout consume shadow --wsgi … --shadow``, every other setting
  at its default, on the project's topology in a fresh vhost.

The figure is requests handled by both apps per second. For nginx: the requests its mirror
finished (the mirror location's access log) within wrk's run. For slack-fanout: every request
answered 200, over the time from wrk's start until both consumers have handled the last of
them (each consumer's dedupe ledger counts what it handled), so a consumer that falls behind
pays for its backlog. With the shadow slow (200 ms a request) the figure is the primary's
rate. Each run starts its system afresh; the systems alternate, round by round, and the
medians, ratios and CPU time per request of every process of a system (for slack-fanout, the
broker's too) follow; with ``--json``, every run's figures instead, as JSON on stdout (the
progress lines on stderr), as tests/test_mirror_comparison.py reads them.

Needs nginx and wrk (Debian's packages), a RabbitMQ with the management API, and the machine
to itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.gateway_bench import Bench, WrkResult, _answers, _broker_pids, _cpu_seconds
from slack_fanout import topology
from testbed import slack
from testbed.processes import Process, child_pids, free_port, http_ok

SHADOW_APPS = {"healthy": "bench.seed_apps:seed", "slow": "bench.seed_apps:slow_seed"}
PRIMARY_APP = SHADOW_APPS["healthy"]
SYSTEMS = ("nginx mirror", "slack-fanout")
BIN = Path(sys.executable).parent
SEED_ENV = {"SEED_VERIFICATION_TOKEN": slack.VERIFICATION_TOKEN}
DRAIN_TIMEOUT = 120.0
SEED_WORKERS = 2


@dataclass(frozen=True)
class Run:
    """One system under wrk: what it answered, and how many requests both apps (or the primary) handled."""

    wrk: WrkResult
    handled: int
    """Requests handled by both apps (healthy shadow) or by the primary (slow shadow)."""
    seconds: float
    """From wrk's start until the last of them was handled."""
    cpu_ms: dict[str, float]
    """CPU time of each part of the system (its processes and their children), per request handled."""

    @property
    def rate(self) -> float:
        return self.handled / self.seconds

    @property
    def total_cpu_ms(self) -> float:
        return sum(self.cpu_ms.values())

    @property
    def complete(self) -> bool:
        """Every request answered 200 was handled (by both apps, with a healthy shadow)."""
        return self.handled >= self.wrk.ok


class System:
    """Processes started for one run; ``measure`` drives them with wrk and accounts."""

    def __init__(self, bench: Bench, shadow: str) -> None:
        self.bench = bench
        self.shadow = shadow
        self.processes: dict[str, Process] = {}
        self.url = ""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            process.stop()

    def parts(self) -> dict[str, list[int]]:
        """Each part's processes, children included, whose CPU time is counted."""
        return {name: [process.popen.pid, *_descendants(process.popen.pid)]
                for name, process in self.processes.items()}  # fmt: skip

    def measure(self, connections: int, seconds: float) -> Run:
        request = slack.SlackRequest(
            slack.outgoing_webhook(), {"Content-Type": slack.FORM}, path="/"
        )  # unsigned: Slack signs no outgoing webhook
        parts = self.parts()
        cpu_before = {part: sum(_cpu_seconds(pid) for pid in pids) for part, pids in parts.items()}
        started = time.monotonic()
        result = self.bench.wrk(self.url, connections, seconds, request=request, threads=1)
        handled, finished = self.drained(result.ok, started + result.seconds)
        cpu_ms = {
            part: (sum(_cpu_seconds(pid) for pid in pids) - cpu_before[part]) * 1000 / max(handled, 1)
            for part, pids in parts.items()
        }
        return Run(result, handled, finished - started, cpu_ms)

    def drained(self, answered: int, wrk_ended: float) -> tuple[int, float]:
        """How many of the ``answered`` requests were handled (by both apps, or by the primary with a slow
        shadow), and when the last of them was."""
        raise NotImplementedError


class NginxMirror(System):
    """nginx in front of the primary's and the shadow's gunicorn, mirroring every request."""

    def start(self) -> None:
        workdir = self.bench.workdir / f"nginx-{time.monotonic_ns()}"
        workdir.mkdir()
        self.mirror_log = workdir / "mirror.log"
        upstreams = {"primary": PRIMARY_APP, "shadow": SHADOW_APPS[self.shadow]}
        ports = {name: self._seed_app(name, app, workdir) for name, app in upstreams.items()}
        port = free_port()
        config = workdir / "nginx.conf"
        config.write_text(
            NGINX_CONFIG.format(port=port, workdir=workdir, mirror_log=self.mirror_log, **ports)
        )
        nginx = Process(["nginx", "-p", str(workdir), "-c", str(config)], {}, workdir / "nginx.out")
        self.processes["nginx"] = nginx
        self.url = f"http://127.0.0.1:{port}"
        nginx.wait_for(lambda: http_ok(f"{self.url}/nginx-up"), "nginx to answer", 15)

    def _seed_app(self, name: str, app: str, workdir: Path) -> int:
        """The app as such a team serves it: gunicorn with two (sync) workers."""
        port = free_port()
        argv = [str(BIN / "gunicorn"), "-w", str(SEED_WORKERS), "-b", f"127.0.0.1:{port}", app]
        process = Process(argv, SEED_ENV, workdir / f"{name}.log")
        self.processes[name] = process
        process.wait_for(lambda: _answers(f"http://127.0.0.1:{port}/"), f"the {name} app to start", 30)
        return port

    def drained(self, answered: int, wrk_ended: float) -> tuple[int, float]:
        """Every 200 is the primary's answer; a mirror finishes with its request (nginx holds the
        connection until it has), so the time is wrk's, though the last few mirrors may still be
        logging when wrk stops."""
        if self.shadow != "healthy":
            return answered, wrk_ended
        give_up = time.monotonic() + 2
        while (mirrored := self._mirrored()) < answered and time.monotonic() < give_up:
            time.sleep(0.05)
        return min(answered, mirrored), wrk_ended

    def _mirrored(self) -> int:
        return self.mirror_log.read_bytes().count(b"\n") if self.mirror_log.exists() else 0


class Fanout(System):
    """slack-fanout as shipped: the gateway, the primary and the shadow, at their defaults."""

    def start(self) -> None:
        bench = self.bench
        bench.vhost = f"mirror-bench-{time.monotonic_ns()}"
        bench.management.create_vhost(bench.vhost)
        bench.management.request("POST", "definitions", topology.definitions(vhost=bench.vhost))
        self.state = bench.workdir / bench.vhost
        env = {"AMQP_URL": bench.amqp_url, "CONSUMER_STATE_DIR": str(self.state), **SEED_ENV}
        for name, options in (("primary", ("--wsgi", PRIMARY_APP, "--reply")),
                              ("shadow", ("--wsgi", SHADOW_APPS[self.shadow], "--shadow"))):  # fmt: skip
            consumer = Process(
                [str(BIN / "slack-fanout"), "consume", name, *options],
                env,
                self.state.with_suffix(f".{name}.log"),
            )
            self.processes[name] = consumer
            consumer.wait_for_log("consuming", timeout=30)
        port = free_port()
        gateway_env = {
            **env,
            "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
            "SLACK_VERIFICATION_TOKEN": slack.VERIFICATION_TOKEN,
            "REPLY_PASSTHROUGH": "true",  # as compose.yaml and scripts/run-local ship it
        }
        gateway = Process([str(BIN / "slack-fanout"), "gateway", "-b", f"127.0.0.1:{port}"], gateway_env,
                          self.state.with_suffix(".gateway.log"))  # fmt: skip
        self.processes["gateway"] = gateway
        self.url = f"http://127.0.0.1:{port}"
        gateway.wait_for(lambda: http_ok(f"{self.url}/readyz"), "the gateway to be ready", 30)

    def parts(self) -> dict[str, list[int]]:
        return {**super().parts(), "broker": _broker_pids()}

    def stop(self) -> None:
        super().stop()
        self.bench.management.delete_vhost(self.bench.vhost)

    def handled(self) -> int:
        """Requests handled by both consumers (by the primary, with a slow shadow): their ledgers' rows."""
        primary = _ledger_rows(self.state / "primary.sqlite3")
        if self.shadow != "healthy":
            return primary
        return min(primary, _ledger_rows(self.state / "shadow.sqlite3"))

    def drained(self, answered: int, wrk_ended: float) -> tuple[int, float]:
        give_up = time.monotonic() + DRAIN_TIMEOUT
        while (handled := self.handled()) < answered and time.monotonic() < give_up:
            time.sleep(0.02)
        return handled, max(time.monotonic(), wrk_ended)


NGINX_CONFIG = """
daemon off;
worker_processes auto;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    log_subrequest on;  # the mirror is a subrequest: its location logs each one it finished
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    upstream primary {{ server 127.0.0.1:{primary}; keepalive 32; }}
    upstream shadow {{ server 127.0.0.1:{shadow}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        location = /nginx-up {{ return 200; }}
        location / {{
            mirror /mirror;
            mirror_request_body on;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://primary;
        }}
        location = /mirror {{
            internal;
            access_log {mirror_log};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://shadow$request_uri;
        }}
    }}
}}
"""


def _ledger_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as ledger:
        return ledger.execute("SELECT count(*) FROM handled").fetchone()[0]


def _descendants(pid: int) -> list[int]:
    children = child_pids(pid)
    return children + [grandchild for child in children for grandchild in _descendants(child)]


KINDS: dict[str, Callable[[Bench, str], System]] = {"nginx mirror": NginxMirror, "slack-fanout": Fanout}


def run(args: argparse.Namespace) -> dict[str, dict[str, list[Run]]]:
    """``args.rounds`` rounds; in each, every shadow scenario on each system in turn."""
    bench = Bench(args)
    runs: dict[str, dict[str, list[Run]]] = {
        shadow: {name: [] for name in SYSTEMS} for shadow in args.shadows
    }
    try:
        for round_number in range(1, args.rounds + 1):
            for shadow in args.shadows:
                for name in SYSTEMS:
                    system = KINDS[name](bench, shadow)
                    try:
                        system.start()
                        result = system.measure(args.connections, args.duration)
                    finally:
                        system.stop()
                    runs[shadow][name].append(result)
                    print(f"round {round_number} shadow {shadow:7} {name:13} {describe(result)}", flush=True)
    finally:
        shutil.rmtree(bench.workdir, ignore_errors=True)
    return runs


def describe(run: Run) -> str:
    return (f"{run.rate:7.0f} handled/s  answered 200 {run.wrk.ok:6}  handled {run.handled:6}  "
            f"p50 {run.wrk.p50_ms:7.2f} ms  p99 {run.wrk.p99_ms:7.2f} ms  non-2xx {run.wrk.non_2xx}  "
            f"CPU ms/request {run.total_cpu_ms:.2f}: "
            + ", ".join(f"{part} {ms:.2f}" for part, ms in run.cpu_ms.items()))  # fmt: skip


def print_table(runs: dict[str, dict[str, list[Run]]]) -> None:
    print("\n| shadow | system | handled by both apps /s (median) | ratio to nginx mirror | p50 ms | p99 ms "
          "| CPU ms per request | every 200 handled |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for shadow, systems in runs.items():
        baseline = statistics.median(r.rate for r in systems[SYSTEMS[0]])
        for name, results in systems.items():
            rate = statistics.median(r.rate for r in results)
            p50 = statistics.median(r.wrk.p50_ms for r in results)
            p99 = statistics.median(r.wrk.p99_ms for r in results)
            cpu = statistics.median(r.total_cpu_ms for r in results)
            complete = "yes" if all(r.complete for r in results) else "no"
            label = shadow if shadow == "healthy" else f"{shadow} (primary's rate)"
            print(f"| {label} | {name} | {rate:.0f} | {rate / baseline:.2f} | {p50:.1f} | {p99:.1f} "
                  f"| {cpu:.2f} | {complete} |")  # fmt: skip


def figures(run: Run) -> dict[str, object]:
    """One run as ``--json`` prints it."""
    return {
        "answered_200": run.wrk.ok,
        "handled": run.handled,
        "seconds": run.seconds,
        "rate": run.rate,
        "complete": run.complete,
        "p50_ms": run.wrk.p50_ms,
        "p99_ms": run.wrk.p99_ms,
        "non_2xx": run.wrk.non_2xx,
        "cpu_ms": run.cpu_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--shadows", type=lambda text: text.split(","), default=["healthy", "slow"],
                        help="comma-separated: healthy, slow (200 ms a request)")  # fmt: skip
    parser.add_argument(
        "--json", action="store_true", help="{shadow: {system: [each round's figures]}} as JSON, no table"
    )
    for signum in (signal.SIGINT, signal.SIGTERM):  # a Ctrl-C still stops every process of the run
        signal.signal(signum, signal.default_int_handler)
    args = parser.parse_args()
    if not args.json:
        print_table(run(args))
        return
    with contextlib.redirect_stdout(sys.stderr):  # the progress lines; stdout is the JSON's alone
        runs = run(args)
    print(json.dumps({shadow: {name: [figures(r) for r in results] for name, results in systems.items()}
                      for shadow, systems in runs.items()}))  # fmt: skip


if __name__ == "__main__":
    main()
