"""How many requests per second the comparer judges: can it keep up with a shadow's traffic?

``python -m bench.verdict_bench --requests 2000 --rounds 5``

Feeds the records of ``--requests`` requests (the Bolt-like ``app_mention`` with three calls and
``/deploy`` with an answer and a ``response_url`` post, from testbed/records.py) through a
comparison session as the stream would deliver them, with and without a secondary, the two
set-ups alternating round by round; prints the median requests judged per second of each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from testbed.records import CONSUMERS, modified_candidate, records
from verdict.join import Roles
from verdict.rules import Rules
from verdict.session import Session


def judged_per_second(encoded: list[bytes], roles: Roles, requests: int) -> float:
    session = Session(roles, Rules(), timedelta(seconds=60))
    started = time.perf_counter()
    for data in encoded:
        session.feed(data)
    session.expire(datetime.now(UTC))
    session.verdict()
    return requests / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=2000, help="requests (each of two endpoints) per round"
    )
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    setups = {
        "primary + candidate": (Roles("primary", "shadow"), CONSUMERS[:2]),
        "primary + candidate + secondary": (Roles("primary", "shadow", "shadow-control"), CONSUMERS),
    }
    inputs = {
        name: [r.encode() for r in records(modified_candidate, arguments.requests, consumers)]
        for name, (_roles, consumers) in setups.items()
    }
    rates: dict[str, list[float]] = {name: [] for name in setups}
    for _ in range(arguments.rounds):
        for name, (roles, _consumers) in setups.items():
            rates[name].append(judged_per_second(inputs[name], roles, 2 * arguments.requests))
    print(f"{'set-up':<34}{'requests judged/s (median)':>28}{'records/s':>12}")
    for name, (_roles, consumers) in setups.items():
        median = statistics.median(rates[name])
        print(f"{name:<34}{median:>28,.0f}{median * len(consumers):>12,.0f}")


if __name__ == "__main__":
    main()
