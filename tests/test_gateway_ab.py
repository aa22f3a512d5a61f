"""The gateway benchmark's A/B baseline still runs: the gateway of commit ``FILED_AT``, taken from
the repository's history, serves the signed slash command and every 200 is in both queues.

A short version of ``python -m bench.gateway_bench`` (docs/performance.md): one round of a few
seconds for the shipped gateway and its baseline, no figures compared. It fails when a
dependency moves on so far that the baseline no longer starts, before anyone needs the
benchmark. Needs wrk, which ``.ci/run`` installs, and the history of a full clone.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from bench.gateway_bench import FILED, FILED_AT, GATEWAY, Bench
from testbed.processes import REPO
from tests.support.broker import Broker

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(not shutil.which("wrk"), reason="needs wrk (apt-get install wrk)"),
]


def in_history(revision: str) -> bool:
    found = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{revision}^{{commit}}"], check=False)
    return found.returncode == 0


@pytest.fixture
def bench(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bench]:
    if not in_history(FILED_AT):
        pytest.skip(f"commit {FILED_AT} is not in this clone's history (a shallow clone)")
    monkeypatch.setenv("AMQP_URL", broker.amqp_url("/"))
    monkeypatch.setenv("RABBITMQ_MANAGEMENT_URL", broker.management.base_url)
    bench = Bench(argparse.Namespace(rounds=1, duration=2))
    try:
        bench.setup([GATEWAY, FILED])
        yield bench
    finally:
        bench.teardown()


def test_the_gateway_and_its_baseline_from_history_each_put_every_200_in_both_queues(bench: Bench) -> None:
    for target in (GATEWAY, FILED):
        result = bench.measured_run(target, connections=4, seconds=2)  # fails unless every 200 is queued
        assert result.ok > 50, target.name
        assert result.non_2xx == 0, target.name
    # Each ran its own configuration: the baseline is the design before, not today's code.
    assert "Using worker: gthread" in bench.servers[FILED.name][0].log_text()
    assert "Using worker: gevent" in bench.servers[GATEWAY.name][0].log_text()
