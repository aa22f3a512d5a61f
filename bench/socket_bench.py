"""The Socket Mode ingress beside the HTTP gateway: envelopes acknowledged per second, and how fast.

    python -m bench.socket_bench [--rounds 3] [--duration 10] [--connections 32]

One vhost with a quorum and a classic queue bound, the HTTP gateway (gunicorn, as deployed)
and the Socket Mode ingress (two WebSocket connections, as deployed) against the fake Slack of
testbed/socket_slack.py, in this process. Side by side, round after round: wrk with
``--connections`` against the gateway; then as many envelopes outstanding at once against the
ingress, each sent again as soon as the previous one was acknowledged. Latency is from
sending to the acknowledgement (to the 200, for HTTP). Every acknowledged envelope must be
in both queues. The fake Slack runs in this process and takes CPU from the same two cores,
where wrk is a small C program: the ingress's figures are a floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

from bench.gateway_bench import Bench, Target, WrkResult, _broker_cpu_seconds, _cpu_seconds, print_summary
from testbed.processes import Process, free_port, http_ok, python_module
from testbed.socket_payloads import slash_command
from testbed.socket_slack import APP_TOKEN, FakeSlack

GATEWAY = Target("http gateway", "gateway/gunicorn.conf.py", None, publishes=True)
SOCKET = "socket ingress"


class SocketBench(Bench):
    def setup(self, targets: list[Target] | None = None) -> None:
        super().setup([GATEWAY])
        self.slack = FakeSlack(redeliver_after=10)
        port = free_port()
        env = {"AMQP_URL": self.amqp_url, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": self.slack.api_url,
               "SOCKET_MODE_HEALTH_HOST": "127.0.0.1", "SOCKET_MODE_HEALTH_PORT": str(port),
               "SOCKET_MODE_CONCURRENCY": str(self.args.connections), "LOG_LEVEL": "WARNING"}  # fmt: skip
        self.ingress = Process(python_module("gateway.socket_mode"), env, self.workdir / "ingress.log")
        self.ingress.wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), "the ingress", 30)
        self.slack.wait_for_links(2)

    def teardown(self) -> None:
        self.ingress.stop()
        self.slack.close()
        super().teardown()

    def socket_run(self, outstanding: int, seconds: float) -> WrkResult:
        """``outstanding`` senders, each sending its next envelope once the last was acknowledged."""
        self.purge()
        latencies: list[float] = []
        payload = slash_command()
        stop_at = time.monotonic() + seconds

        def sender() -> None:
            while time.monotonic() < stop_at:
                sent = time.monotonic()
                ack = self.slack.wait_for_ack(self.slack.send("slash_commands", payload))
                latencies.append(ack.at - sent)

        pids = [self.ingress.popen.pid]
        cpu_before, broker_before, started = _cpu_seconds(pids[0]), _broker_cpu_seconds(), time.monotonic()
        threads = [threading.Thread(target=sender) for _ in range(outstanding)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        acked = len(latencies)
        quorum, classic = self.settled_depths()
        if quorum != classic or quorum < acked:
            raise SystemExit(f"{acked} envelopes acknowledged but queues hold {quorum} and {classic}")
        ordered = sorted(latencies)
        return WrkResult(
            requests=acked, non_2xx=0, socket_errors=0, seconds=elapsed,
            p50_ms=1000 * statistics.median(ordered), p99_ms=1000 * ordered[int(0.99 * (acked - 1))],
            max_ms=1000 * ordered[-1],
            server_cpu_ms=(_cpu_seconds(pids[0]) - cpu_before) * 1000 / acked,
            broker_cpu_ms=(_broker_cpu_seconds() - broker_before) * 1000 / acked,
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    bench = SocketBench(args)
    bench.setup()
    try:
        results: dict[str, list[WrkResult]] = {GATEWAY.name: [], SOCKET: []}
        for round_number in range(1, args.rounds + 1):
            for name in results:
                if name == SOCKET:
                    result = bench.socket_run(args.connections, args.duration)
                else:
                    result = bench.measured_run(GATEWAY, args.connections, args.duration)
                results[name].append(result)
                print(f"round {round_number} {name:15} {result.rate:7.0f}/s  p50 {result.p50_ms:6.2f} ms  "
                      f"p99 {result.p99_ms:6.2f} ms  CPU ms/msg server {result.server_cpu_ms:.2f} "
                      f"broker {result.broker_cpu_ms:.2f}", flush=True)  # fmt: skip
        print_summary(results, f"{args.connections} outstanding, {args.rounds} rounds of {args.duration} s")
    finally:
        bench.teardown()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
