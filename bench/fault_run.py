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

The system, the scenarios and the accounting are testbed/faults.py's, which the suite's short
fault runs use too; this is the command line, the tables and the verdict.
"""

from __future__ import annotations

import argparse
import collections
import sys

from slack_fanout.topology import BOUNDED_QUEUE_MAX_LENGTH
from testbed.faults import (
    CLUSTER_SCENARIOS,
    SCENARIOS,
    ClusterResult,
    ConsumerAccount,
    measure_rate,
    run,
    run_cluster,
)


def render(answers: collections.Counter, accounts: dict[str, ConsumerAccount]) -> str:
    lines = [
        f"requests: {sum(answers.values())}  "
        + "  ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=str)),
        "",
        "| consumer | bounded | handled | duplicates | repeated after a kill | lost (200, not handled) "
        "| handled, no 200 | dead-lettered | unexplained loss |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, a in accounts.items():
        bounded = "yes" if a.bounded else "no"
        lines.append(
            f"| {name} | {bounded} | {a.handled} | {a.duplicates} | {a.repeated_after_kill} | {len(a.lost)} "
            f"| {a.without_200} | {a.dead_letters} | {a.unexplained} |"
        )
    return "\n".join(lines)


def render_recoveries(result: ClusterResult) -> str:
    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f} s"

    lines = ["| fault | fault → first 200 | fault → first handled (primary) |", "|---|---:|---:|"]
    lines += [f"| {r.scenario} | {seconds(r.to_first_200)} | {seconds(r.to_first_handled)} |"
              for r in result.recoveries]  # fmt: skip
    lines.append(f"\n200s answered while two of three nodes were down: {result.ok_without_majority}")
    spread = collections.Counter(result.leaders.values())
    lines.append(f"queue leaders per node at the start: {sorted(spread.values(), reverse=True)}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="all", help=f"comma-separated, from: {', '.join(SCENARIOS)}; "
                        f"with --cluster: {', '.join(CLUSTER_SCENARIOS)}")  # fmt: skip
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="on a three-node cluster, with its own scenarios; then the rate against one node",
    )
    parser.add_argument("--no-rate", action="store_true", help="with --cluster: skip the rate comparison")
    parser.add_argument("--rate", type=float, default=100, help="requests per second")
    parser.add_argument("--settle", type=float, default=5, help="seconds of load after a fault's first 200")
    parser.add_argument("--mixed", action="store_true", help="then inject them all again, in random order")
    parser.add_argument("--shadow-bound", type=int, default=BOUNDED_QUEUE_MAX_LENGTH,
                        help="bounded consumers' queue cap; a small one shows drops counted")  # fmt: skip
    parser.add_argument(
        "--down", type=float, default=60, help="seconds the consumers stay down (consumers-down)"
    )
    arguments = parser.parse_args()
    everything = CLUSTER_SCENARIOS if arguments.cluster else SCENARIOS
    scenarios = list(everything) if arguments.scenarios == "all" else arguments.scenarios.split(",")
    if arguments.cluster:
        return _main_cluster(scenarios, arguments)
    answers, accounts = run(
        scenarios, arguments.rate, arguments.settle, arguments.mixed, arguments.shadow_bound, arguments.down
    )
    print(render(answers, accounts))
    return _verdict(accounts)


def _main_cluster(scenarios: list[str], arguments: argparse.Namespace) -> int:
    result = run_cluster(scenarios, arguments.rate, arguments.settle, arguments.mixed)
    print(render(result.answers, result.accounts))
    print()
    print(render_recoveries(result))
    if arguments.no_rate:
        return _verdict(result.accounts) or (1 if result.ok_without_majority else 0)
    rates = {"cluster": measure_rate(cluster=True), "single node": measure_rate(cluster=False)}
    print(f"\nrate through the gateway, 16 clients, 10 s: cluster {rates['cluster']:.0f}/s, single node "
          f"{rates['single node']:.0f}/s (ratio {rates['cluster'] / rates['single node']:.2f})")  # fmt: skip
    return _verdict(result.accounts) or (1 if result.ok_without_majority else 0)


def _verdict(accounts: dict[str, ConsumerAccount]) -> int:
    unexplained = {name: a.lost[:10] for name, a in accounts.items() if a.unexplained}
    duplicates = {name: a.duplicates for name, a in accounts.items() if a.duplicates}
    if unexplained:
        print(f"LOST: {unexplained}", file=sys.stderr)
    if duplicates:
        print(f"DUPLICATE EFFECTS: {duplicates}", file=sys.stderr)
    return 1 if unexplained or duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
