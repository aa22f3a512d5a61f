"""The consumer runtime as deployed: ``python -m consumers run`` against the real broker."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from slack_fanout.envelope import Envelope
from slack_fanout.topology import DELIVERY_LIMIT, INBOUND_EXCHANGE, consumer_queue, dead_letter_queue
from tests.support.broker import VirtualHost, publish
from tests.support.envelopes import an_envelope
from tests.support.processes import Process, python_module, running

NAME = "audit"
HANDLER = "tests.consumers.handlers:record"


def envelope(text: str) -> bytes:
    return an_envelope(text).encode()


@contextmanager
def consumer(
    vhost: VirtualHost, tmp_path: Path, log_name: str = "consumer.log", **env: str
) -> Iterator[Process]:
    process_env = {"AMQP_URL": vhost.amqp_url, "TEST_RECORD_FILE": str(tmp_path / "handled.txt"), **env}
    argv = python_module("consumers", "run", NAME, "--handler", HANDLER, "--prefetch", "1")
    with running(argv, process_env, tmp_path / log_name) as process:
        process.wait_for_log("consuming")
        yield process


def handled(tmp_path: Path) -> list[str]:
    record = tmp_path / "handled.txt"
    return record.read_text().splitlines() if record.exists() else []


def test_a_consumer_binds_its_own_queue_and_acks_what_it_handled(vhost: VirtualHost, tmp_path: Path) -> None:
    with consumer(vhost, tmp_path) as process:
        publish(vhost, envelope("one"))
        process.wait_for_log("handled")
        assert vhost.queue_depth(consumer_queue(NAME)) == 0
    assert handled(tmp_path) == ["one"]
    bindings = vhost.management.get(f"exchanges/{vhost.name}/{INBOUND_EXCHANGE}/bindings/source")
    assert [b["destination"] for b in bindings] == [consumer_queue(NAME)]


def test_a_failing_message_is_retried_then_dead_lettered_while_others_flow(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with consumer(vhost, tmp_path, TEST_FAIL_ON="poison") as process:
        publish(vhost, envelope("poison"))
        publish(vhost, envelope("after"))
        process.wait_for(lambda: vhost.queue_depth(dead_letter_queue(NAME)) == 1, "poison in the dead queue")
        process.wait_for(lambda: handled(tmp_path) == ["after"], "the next message handled")
        failures = [r for r in process.log_records() if r["message"].startswith("handler failed")]
    assert len(failures) == DELIVERY_LIMIT + 1
    assert [f["delivery_count"] for f in failures] == list(range(DELIVERY_LIMIT + 1))
    assert Envelope.decode(vhost.drain(dead_letter_queue(NAME))[0]).payload["text"] == "poison"


def test_a_message_that_is_no_envelope_is_dead_lettered_at_once(vhost: VirtualHost, tmp_path: Path) -> None:
    with consumer(vhost, tmp_path) as process:
        publish(vhost, b"not json at all")
        process.wait_for_log("not an envelope: dead-lettered")
        process.wait_for(lambda: vhost.queue_depth(dead_letter_queue(NAME)) == 1, "the dead queue")
        publish(vhost, envelope("fine"))
        process.wait_for_log("handled")
    assert vhost.drain(dead_letter_queue(NAME)) == [b"not json at all"]


def test_a_consumer_killed_mid_message_gets_it_again_after_restart(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with consumer(vhost, tmp_path, TEST_SLEEP_SECONDS="30") as slow:
        publish(vhost, envelope("in hand"))
        slow.wait_for_log("handler started")
        slow.signal(signal.SIGKILL)
        slow.popen.wait(5)
    with consumer(vhost, tmp_path, log_name="restarted.log") as restarted:
        restarted.wait_for_log("handled")
    assert handled(tmp_path) == ["in hand"]


def test_sigterm_finishes_and_acks_the_message_in_hand_then_exits_cleanly(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with consumer(vhost, tmp_path, TEST_SLEEP_SECONDS="1") as process:
        publish(vhost, envelope("in hand"))
        process.wait_for_log("handler started")
        process.signal(signal.SIGTERM)
        assert process.popen.wait(10) == 0
        assert process.wait_for_log("handled")
    assert handled(tmp_path) == ["in hand"]
    assert vhost.queue_depth(consumer_queue(NAME)) == 0


def test_a_lost_broker_connection_is_re_established(vhost: VirtualHost, tmp_path: Path) -> None:
    with consumer(vhost, tmp_path) as process:
        vhost.close_client_connections()
        process.wait_for_log("broker connection lost; reconnecting")
        process.wait_for(lambda: len([r for r in process.log_records() if r["message"] == "consuming"]) == 2,
                         "consuming again", timeout=20)  # fmt: skip
        publish(vhost, envelope("after reconnect"))
        process.wait_for_log("handled")


@pytest.mark.parametrize(
    ("argv", "exit_code", "message"),
    [
        (["run", "audit", "--handler", "no.such.module:f"], 3, "cannot import"),
        (["run", "audit", "--handler", "tests.consumers.handlers:missing"], 3, "has no function"),
        (["run", "audit", "--handler", "tests.consumers.handlers"], 3, "package.module:function"),
        (["run", "Bad Name!", "--handler", HANDLER], 2, "consumer name"),
    ],
    ids=["unimportable", "missing-function", "no-colon", "bad-name"],
)
def test_a_misconfigured_consumer_refuses_to_start_with_a_clear_message(
    tmp_path: Path, argv: list[str], exit_code: int, message: str
) -> None:
    with running(python_module("consumers", *argv), {}, tmp_path / "cli.log") as process:
        assert process.popen.wait(20) == exit_code
    assert message in process.log_text()
    assert "Traceback" not in process.log_text()
