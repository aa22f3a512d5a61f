"""Beside the system it replaces: nginx ``mirror`` in front of two Flask apps, the same app and load.

A short version of ``python -m bench.mirror_bench`` (docs/performance.md): one round of a few
seconds per system. It needs nginx and wrk, which ``.ci/run`` installs.
"""

from __future__ import annotations

import argparse
import shutil

import pytest

from bench.mirror_bench import Run, run

pytestmark = pytest.mark.skipif(
    not (shutil.which("nginx") and shutil.which("wrk")),
    reason="needs nginx and wrk (apt-get install nginx wrk)",
)


def one_round(shadow: str) -> dict[str, Run]:
    runs = run(argparse.Namespace(rounds=1, duration=3, connections=16, shadows=[shadow]))
    return {system: results[0] for system, results in runs[shadow].items()}


def test_a_slow_shadow_holds_nginx_mirror_to_its_pace_but_not_slack_fanouts_primary() -> None:
    runs = one_round("slow")
    nginx, fanout = runs["nginx mirror"], runs["slack-fanout"]
    assert nginx.rate < 20, "nginx finishes a request only once its mirror has (200 ms, two workers)"
    assert fanout.complete, "every 200 was handled by the primary"
    assert fanout.rate > 5 * nginx.rate


def test_with_a_healthy_shadow_both_systems_have_every_request_handled_by_both_apps() -> None:
    runs = one_round("healthy")
    for system, result in runs.items():
        assert result.wrk.ok > 100, system
        assert result.complete, (
            f"{system}: {result.wrk.ok} answered 200, {result.handled} handled by both apps"
        )
