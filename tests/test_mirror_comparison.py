"""Beside the system it replaces: nginx ``mirror`` in front of two Flask apps, the same app and load.

A short version of ``python -m bench.mirror_bench`` (docs/performance.md): one round of a few
seconds per system, the benchmark run as a command and its ``--json`` figures read. It needs
nginx and wrk, which ``.ci/run`` installs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from testbed.processes import REPO

pytestmark = pytest.mark.skipif(
    not (shutil.which("nginx") and shutil.which("wrk")),
    reason="needs nginx and wrk (apt-get install nginx wrk)",
)


def one_round(shadow: str) -> dict[str, SimpleNamespace]:
    """Each system's run: answered_200, handled, rate, complete, ... (bench.mirror_bench.figures)."""
    argv = [sys.executable, "-m", "bench.mirror_bench", "--rounds", "1", "--duration", "3",
            "--connections", "16", "--shadows", shadow, "--json"]  # fmt: skip
    finished = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-4000:]
    runs = json.loads(finished.stdout)
    return {system: SimpleNamespace(**results[0]) for system, results in runs[shadow].items()}


def test_a_slow_shadow_holds_nginx_mirror_to_its_pace_but_not_slack_fanouts_primary() -> None:
    runs = one_round("slow")
    nginx, fanout = runs["nginx mirror"], runs["slack-fanout"]
    assert nginx.rate < 20, "nginx finishes a request only once its mirror has (200 ms, two workers)"
    assert fanout.complete, "every 200 was handled by the primary"
    assert fanout.rate > 5 * nginx.rate


def test_with_a_healthy_shadow_both_systems_have_every_request_handled_by_both_apps() -> None:
    runs = one_round("healthy")
    for system, result in runs.items():
        assert result.answered_200 > 100, system
        assert result.complete, (
            f"{system}: {result.answered_200} answered 200, {result.handled} handled by both apps"
        )
