"""``python -m slack_fanout.status``: what an operator or a health check reads about each consumer queue."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from slack_fanout import topology
from slack_fanout.exit_codes import ExitCode
from slack_fanout.status import QueueStatus, consumer_queues
from testbed.envelopes import an_envelope
from testbed.processes import python_module, running, slack_fanout
from testbed.waiting import eventually
from tests.support.broker import VirtualHost, publish

A_HEALTHY_QUEUE = QueueStatus(consumer="shadow", messages=0, unacked=0, consumers=1, publish_rate=0.0,
                              deliver_rate=0.0, ack_rate=0.0, dead_letters=0, bound=1000)  # fmt: skip


def status(**changes: Any) -> QueueStatus:
    """A healthy queue but for ``changes``: each test names only what it is about."""
    return dataclasses.replace(A_HEALTHY_QUEUE, **changes)


def test_a_queue_nobody_consumes_needs_attention() -> None:
    assert status(consumers=0).problems == ["no consumer"]


def test_a_queue_near_its_bound_needs_attention_and_an_unbounded_one_never_does() -> None:
    assert status(messages=900).problems[0].startswith("at 90% of its bound")
    assert status(messages=899).problems == []
    assert status(messages=10**9, bound=None).problems == []


def test_dead_letter_queues_are_counted_with_their_consumer_not_listed_apart() -> None:
    queues = [
        {"name": "slack.primary", "messages": 3, "consumers": 1},
        {"name": "slack.primary.dead", "messages": 2},
        {"name": "amq.gen-x", "messages": 1},
    ]
    [primary] = consumer_queues(queues)
    assert (primary.consumer, primary.messages, primary.dead_letters, primary.bound) == (
        "primary",
        3,
        2,
        None,
    )


def run_status(vhost: VirtualHost, tmp_path: Path) -> tuple[int, str]:
    env = {"RABBITMQ_VHOST": vhost.name, "RABBITMQ_MANAGEMENT_URL": vhost.management.base_url,
           "RABBITMQ_MANAGEMENT_USER": vhost.management.username,
           "RABBITMQ_MANAGEMENT_PASSWORD": vhost.management.password}  # fmt: skip
    with running(python_module("slack_fanout.status"), env, tmp_path / "status.log") as process:
        code = process.popen.wait(30)
    return code, process.log_text()


def test_status_exits_non_zero_while_a_consumer_is_missing_and_zero_once_all_consume(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    vhost.management.request("POST", "definitions", topology.definitions(vhost=vhost.name))
    publish(vhost, an_envelope().encode())
    code, output = run_status(vhost, tmp_path)
    assert code == ExitCode.DIFFERS
    assert "no consumer" in output and "shadow" in output and "primary" in output

    env = {"AMQP_URL": vhost.amqp_url, "TEST_RECORD_FILE": str(tmp_path / "handled.txt")}
    argv = ["--handler", "testbed.handlers:record"]
    with (
        running(
            python_module("consumers", "run", "primary", *argv), env, tmp_path / "primary.log"
        ) as primary,
        running(python_module("consumers", "run", "shadow", *argv), env, tmp_path / "shadow.log") as shadow,
    ):
        primary.wait_for_log("consuming")
        shadow.wait_for_log("consuming")
        eventually(lambda: run_status(vhost, tmp_path)[0] == 0, f"status to exit 0 (it said: {output})", 20)


def test_status_says_when_it_cannot_read_the_management_api(tmp_path: Path) -> None:
    env = {"RABBITMQ_MANAGEMENT_URL": "http://127.0.0.1:9"}
    with running(python_module("slack_fanout.status"), env, tmp_path / "status.log") as process:
        assert process.popen.wait(30) == ExitCode.UNREACHABLE
    assert "cannot reach the management API at http://127.0.0.1:9" in process.log_text()


def test_the_archive_stream_is_not_taken_for_a_consumer_without_one() -> None:
    assert consumer_queues([{"name": topology.ARCHIVE_QUEUE, "consumers": 0}]) == []


def test_status_says_when_the_management_api_refuses_its_login(vhost: VirtualHost, tmp_path: Path) -> None:
    env = {"RABBITMQ_VHOST": vhost.name, "RABBITMQ_MANAGEMENT_URL": vhost.management.base_url,
           "RABBITMQ_MANAGEMENT_USER": vhost.management.username,
           "RABBITMQ_MANAGEMENT_PASSWORD": "not-the-password"}  # fmt: skip
    with running(slack_fanout("status"), env, tmp_path / "status.log") as process:
        assert process.popen.wait(30) == ExitCode.LOGIN_REFUSED
    [line] = process.log_text().splitlines()
    assert line.startswith("slack-fanout status: the management API at http://")
    assert line.endswith(f"refused the login of user {vhost.management.username!r} (vhost {vhost.name!r})")
