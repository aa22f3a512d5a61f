"""Reply passthrough: what waiting for the primary's answer costs the gateway.

    python -m bench.reply_bench [--rounds 3] [--duration 10] [--connections 32]

Starts two gateways from ``gateway/gunicorn.conf.py`` on one vhost, passthrough off and on,
and a replying primary (``python -m consumers run primary --handler ... --reply``) whose
handler answers ``{"text": "ok"}`` at once. Side by side, round after round: the maximum
throughput of each (wrk, ``--connections``); then the latency of each at a steady 100
requests/s, where the difference between the two is what the answer's round trip (gateway →
broker → primary → broker → gateway) adds; then passthrough with the primary stopped, where
every request waits out the deadline. Every 200 must be in both bound queues.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.gateway_bench import QUEUES, Bench, Target, median, print_summary
from slack_fanout.topology import consumer_queue, consumer_queue_arguments
from testbed.processes import Process, python_module

OFF = Target("passthrough off", "gateway/gunicorn.conf.py", None, publishes=True)
ON = Target("passthrough on", "gateway/gunicorn.conf.py", None, publishes=True,
            env=(("REPLY_PASSTHROUGH", "true"),))  # fmt: skip
STEADY_CONNECTIONS, STEADY_DELAY_MS = 2, 15.0
"""Two connections, each pausing 15 ms between requests (plus about 5 ms to answer): about 100 requests/s."""


def answer(_envelope: object, _context: object) -> dict[str, str]:
    """The primary's handler: an immediate answer, so only the round trip is measured."""
    return {"text": "ok"}


class ReplyBench(Bench):
    def setup(self, targets: list[Target] | None = None) -> None:
        super().setup([OFF, ON])
        self.primary: Process | None = None
        self.start_primary()

    def queues(self) -> dict[str, dict[str, str]]:
        return {**QUEUES, consumer_queue("primary"): consumer_queue_arguments("primary")}

    def start_primary(self) -> None:
        argv = python_module(
            "consumers", "run", "primary", "--handler", "bench.reply_bench:answer", "--reply"
        )
        env = {"AMQP_URL": self.amqp_url, "CONSUMER_PREFETCH": "100", "CONSUMER_LOG_HANDLED": "false",
               "CONSUMER_STATE_DIR": tempfile.mkdtemp(dir=self.workdir)}  # fmt: skip
        self.primary = Process(argv, env, Path(tempfile.mkstemp(dir=self.workdir, suffix=".log")[1]))
        self.primary.wait_for_log("consuming", timeout=30)

    def stop_primary(self) -> None:
        assert self.primary is not None
        self.primary.stop()
        self.primary = None

    def teardown(self) -> None:
        if self.primary is not None:
            self.primary.stop()
        super().teardown()


def run(args: argparse.Namespace) -> None:
    bench = ReplyBench(args)
    bench.setup()
    try:
        maximum = bench.rounds([OFF, ON], args, args.connections)
        print_summary(maximum, "maximum throughput")
        steady = bench.rounds([OFF, ON], args, STEADY_CONNECTIONS, STEADY_DELAY_MS)
        print_summary(steady, "steady, about 100 requests/s")
        added_p50 = median(steady[ON.name], "p50_ms") - median(steady[OFF.name], "p50_ms")
        added_p99 = median(steady[ON.name], "p99_ms") - median(steady[OFF.name], "p99_ms")
        print(f"\nadded by the answer's round trip at 100 req/s: p50 {added_p50:+.2f} ms, "
              f"p99 {added_p99:+.2f} ms")  # fmt: skip
        bench.stop_primary()
        down = bench.measured_run(ON, args.connections, args.duration)
        print(f"\npassthrough on, primary stopped, {args.connections} connections: {down.rate:.0f} req/s, "
              f"p50 {down.p50_ms:.0f} ms, slowest {down.max_ms:.0f} ms")  # fmt: skip
    finally:
        bench.teardown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
