"""A dead or slow shadow never costs the primary a message, nor the gateway a 200.

The definitions' policies cap every consumer queue but the primary's, dropping the oldest
message at the cap, so a shadow that stops consuming cannot grow the broker into an alarm
that would block the gateway. (Timings are the benchmark's job, not this test's.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from slack_fanout import topology
from testbed import http, slack
from testbed.processes import python_module, running, running_gateway
from tests.support.broker import VirtualHost

BOUND = 300
REQUESTS = 1200
RECORD = "testbed.handlers:record"


def load_topology_with_a_small_bound(vhost: VirtualHost) -> None:
    definitions = topology.definitions(vhost=vhost.name)
    definitions["policies"] = topology.bounding_policies(vhost.name, max_length=BOUND)
    vhost.management.request("POST", "definitions", definitions)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("shadow", ["stopped", "slow"])
def test_the_primary_gets_every_message_and_the_shadow_queue_stays_at_its_bound(
    vhost: VirtualHost, tmp_path: Path, shadow: str
) -> None:
    load_topology_with_a_small_bound(vhost)
    primary_record, shadow_record = tmp_path / "primary.txt", tmp_path / "shadow.txt"
    with ExitStack() as stack:
        primary = stack.enter_context(running(
            python_module("consumers", "run", "primary", "--handler", RECORD),
            {"AMQP_URL": vhost.amqp_url, "TEST_RECORD_FILE": str(primary_record)}, tmp_path / "primary.log",
        ))  # fmt: skip
        primary.wait_for_log("consuming")
        if shadow == "slow":
            shadow_env = {"AMQP_URL": vhost.amqp_url, "TEST_RECORD_FILE": str(shadow_record),
                          "TEST_SLEEP_SECONDS": "0.2"}  # fmt: skip
            slow = stack.enter_context(running(
                python_module("consumers", "run", "shadow", "--handler", RECORD, "--prefetch", "1"),
                shadow_env, tmp_path / "shadow.log",
            ))  # fmt: skip
            slow.wait_for_log("consuming")
        _gateway, url = stack.enter_context(running_gateway(vhost.amqp_url, tmp_path / "gateway.log"))

        def send(number: int) -> int:
            return http.post(url, slack.signed(slack.slash_command(text=f"m{number}"), slack.FORM)).status

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(send, range(REQUESTS)))
        assert statuses == [200] * REQUESTS
        primary.wait_for(
            lambda: len(lines(primary_record)) == REQUESTS, "the primary to handle every message", 60
        )
        shadow_depth = vhost.queue_depth("slack.shadow")
    assert sorted(lines(primary_record)) == sorted(f"m{n}" for n in range(REQUESTS))
    assert shadow_depth <= BOUND
    assert len(lines(shadow_record)) + shadow_depth < REQUESTS  # the oldest were dropped, by design
    assert vhost.queue_depth("slack.shadow.dead") == 0  # and not copied: a publish each, for nothing
    [node] = vhost.management.get("nodes")
    assert not node["mem_alarm"] and not node["disk_free_alarm"]
