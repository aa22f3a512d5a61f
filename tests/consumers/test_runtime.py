"""The consumer runtime as deployed: ``python -m consumers run`` processes against the real broker."""

from __future__ import annotations

import itertools
import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from consumers.declarations import EARLIER_QUEUE
from consumers.dispatch import UNSETTLED_TOO_OFTEN
from consumers.retries import ERROR_HEADER, RETRIES_HEADER
from slack_fanout.envelope import Envelope
from slack_fanout.topology import (
    DELIVERY_LIMIT,
    INBOUND_EXCHANGE,
    consumer_queue,
    dead_letter_queue,
    earlier_consumer_queue_arguments,
)
from testbed import http
from testbed.envelopes import an_envelope
from testbed.management import quote
from testbed.processes import Process, free_port, python_module, running
from testbed.waiting import eventually
from tests.support.broker import VirtualHost, publish

NAME = "audit"
QUEUE = consumer_queue(NAME)
DEAD = dead_letter_queue(NAME)
HANDLER = "testbed.handlers:record"
RETRYING = "broker connection failed; retrying"


def envelope(text: str) -> bytes:
    return an_envelope(text).encode()


@contextmanager
def consumer(
    amqp_url: str, tmp_path: Path, log_name: str = "consumer.log", prefetch: int = 1, **env: str
) -> Iterator[Process]:
    """The ``audit`` consumer with the recording test handler, started (stopped with SIGTERM after)."""
    argv = python_module("consumers", "run", NAME, "--handler", HANDLER, "--prefetch", str(prefetch))
    process_env = {"AMQP_URL": amqp_url, "TEST_RECORD_FILE": str(tmp_path / "handled.txt"), **env}
    with running(argv, process_env, tmp_path / log_name) as process:
        yield process


@contextmanager
def consuming(
    vhost: VirtualHost, tmp_path: Path, log_name: str = "consumer.log", **options: Any
) -> Iterator[Process]:
    """The ``audit`` consumer on the test's vhost, once its queue is bound and consumed."""
    with consumer(vhost.amqp_url, tmp_path, log_name, **options) as process:
        process.wait_for_log("consuming", consumer=NAME, queue=QUEUE)
        yield process


def handled(tmp_path: Path) -> list[str]:
    record = tmp_path / "handled.txt"
    return record.read_text().splitlines() if record.exists() else []


def logged(process: Process, message: str) -> list[dict]:
    return [record for record in process.log_records() if record["message"] == message]


def test_a_consumer_binds_its_own_queue_and_acks_what_it_handled(vhost: VirtualHost, tmp_path: Path) -> None:
    with consuming(vhost, tmp_path) as process:
        publish(vhost, envelope("one"))
        process.wait_for_log("handled", consumer=NAME)
        assert process.stop() == 0
    assert handled(tmp_path) == ["one"]
    assert vhost.queue_depth(QUEUE) == 0  # an unacked message would be back in the queue now
    bindings = vhost.management.get(f"exchanges/{quote(vhost.name)}/{INBOUND_EXCHANGE}/bindings/source")
    assert [b["destination"] for b in bindings] == [QUEUE]


SHORT_DELAYS_MS = [100, 200, 300, 400, 500]


def test_a_failing_message_is_retried_after_growing_delays_then_dead_lettered_while_others_flow(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    delays = json.dumps(SHORT_DELAYS_MS)
    with consuming(vhost, tmp_path, TEST_FAIL_ON="poison", CONSUMER_RETRY_DELAYS_MS=delays) as process:
        publish(vhost, envelope("poison"))
        publish(vhost, envelope("after"))
        process.wait_for(lambda: handled(tmp_path) == ["after"], "the next message handled")
        process.wait_for(lambda: vhost.queue_depth(DEAD) == 1, "poison in the dead queue")
        failures = logged(process, "handler failed")
    assert [f["retries_made"] for f in failures] == list(range(len(SHORT_DELAYS_MS) + 1))
    assert [f["retries_left"] for f in failures] == list(range(DELIVERY_LIMIT, -1, -1))
    assert {(f["error_type"], f["error"]) for f in failures} == {("Refused", "refusing 'poison'")}
    waits = [later - earlier for earlier, later in itertools.pairwise(timestamps(failures))]
    assert all(wait >= delay / 1000 for wait, delay in zip(waits, SHORT_DELAYS_MS, strict=True)), waits
    [(body, headers)] = vhost.drain_with_headers(DEAD)
    assert Envelope.decode(body).payload["text"] == "poison"
    assert headers[RETRIES_HEADER] == len(SHORT_DELAYS_MS) + 1


def test_a_downstream_down_for_a_while_costs_no_message(vhost: VirtualHost, tmp_path: Path) -> None:
    outage = tmp_path / "downstream-down"
    outage.touch()
    delays = json.dumps(SHORT_DELAYS_MS)
    with consuming(vhost, tmp_path, TEST_FAIL_WHILE=str(outage), CONSUMER_RETRY_DELAYS_MS=delays) as process:
        for number in range(5):
            publish(vhost, envelope(f"m{number}"))
        process.wait_for(lambda: len(logged(process, "handler failed")) >= 10, "failures during the outage")
        outage.unlink()
        process.wait_for(lambda: len(handled(tmp_path)) == 5, "every message handled once it is back")
    assert sorted(handled(tmp_path)) == [f"m{number}" for number in range(5)]
    assert vhost.queue_depth(DEAD) == 0


def timestamps(records: list[dict[str, Any]]) -> list[float]:
    return [datetime.fromisoformat(record["time"]).timestamp() for record in records]


def test_a_message_that_is_no_envelope_is_dead_lettered_at_once(vhost: VirtualHost, tmp_path: Path) -> None:
    with consuming(vhost, tmp_path) as process:
        publish(vhost, b"not json at all")
        process.wait_for_log("not an envelope: dead-lettered")
        process.wait_for(lambda: vhost.queue_depth(DEAD) == 1, "the dead queue")
        publish(vhost, envelope("fine"))
        process.wait_for_log("handled")
    assert vhost.drain(DEAD) == [b"not json at all"]


def test_a_consumer_killed_mid_message_gets_it_again_after_restart(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with consuming(vhost, tmp_path, TEST_SLEEP_SECONDS="30") as slow:
        publish(vhost, envelope("in hand"))
        started = slow.wait_for_log("handler started")
        slow.signal(signal.SIGKILL)
        slow.popen.wait(5)
    with consuming(vhost, tmp_path, log_name="restarted.log") as restarted:
        assert restarted.wait_for_log("handled")["envelope_id"] == started["envelope_id"]
    assert handled(tmp_path) == ["in hand"]


def test_a_message_that_crashes_the_consumer_every_time_is_set_aside_on_its_last_delivery(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    """A bounded queue has no dead-letter exchange: left to the broker, the message would be dropped."""
    for crash in range(DELIVERY_LIMIT):
        with consuming(vhost, tmp_path, log_name=f"crash-{crash}.log", TEST_SLEEP_SECONDS="30") as crashing:
            if crash == 0:
                publish(vhost, envelope("poison"))
            crashing.wait_for_log("handler started")
            crashing.signal(signal.SIGKILL)
            crashing.popen.wait(5)
    with consuming(vhost, tmp_path, log_name="last.log") as last:
        last.wait_for_log("delivered too often without being settled: dead-lettered")
        last.wait_for(lambda: vhost.queue_depth(DEAD) == 1, "the dead queue")
    assert handled(tmp_path) == []
    [(body, headers)] = vhost.drain_with_headers(DEAD)
    assert Envelope.decode(body).payload["text"] == "poison"
    assert headers[ERROR_HEADER] == UNSETTLED_TOO_OFTEN


def test_a_queue_an_earlier_version_declared_with_dead_lettered_drops_is_still_consumed(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    """Its arguments cannot change in place: the consumer goes on with it, and says how to replace it."""
    with vhost.channel() as channel:
        channel.queue_declare(QUEUE, durable=True, arguments=earlier_consumer_queue_arguments(NAME))
    with consuming(vhost, tmp_path) as process:
        process.wait_for_log(EARLIER_QUEUE, consumer=NAME, queue=QUEUE)
        publish(vhost, envelope("still flows"))
        process.wait_for_log("handled")
    assert handled(tmp_path) == ["still flows"]


def test_sigterm_finishes_and_acks_the_message_in_hand_and_leaves_the_rest_queued(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with consuming(vhost, tmp_path, prefetch=3, TEST_SLEEP_SECONDS="1") as process:
        for text in ("in hand", "prefetched", "also prefetched"):
            publish(vhost, envelope(text))
        process.wait_for_log("handler started", text="in hand")
        process.signal(signal.SIGTERM)
        assert process.popen.wait(10) == 0
        assert process.wait_for_log("handled")
        assert logged(process, "stopped")
    assert handled(tmp_path) == ["in hand"]
    assert vhost.queue_depth(QUEUE) == 2


def test_a_handler_slower_than_the_heartbeat_timeout_keeps_its_connection(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with consumer(f"{vhost.amqp_url}?heartbeat=1", tmp_path, TEST_SLEEP_SECONDS="4") as process:
        process.wait_for_log("consuming")
        publish(vhost, envelope("slow"))
        process.wait_for_log("handled", timeout=20)
        assert process.stop() == 0
    assert logged(process, RETRYING) == []
    assert handled(tmp_path) == ["slow"]
    assert vhost.queue_depth(QUEUE) == 0


def test_a_lost_broker_connection_is_re_established_with_the_same_declarations(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with consuming(vhost, tmp_path) as process:
        assert connection_names(vhost) == [f"slack-fanout consumer {NAME}"]
        vhost.close_client_connections()
        process.wait_for_log(RETRYING, attempt=1)
        process.wait_for(lambda: len(logged(process, "consuming")) == 2, "consuming again", timeout=20)
        publish(vhost, envelope("after reconnect"))
        process.wait_for_log("handled")


def test_a_deleted_queue_is_declared_again_and_consumed(vhost: VirtualHost, tmp_path: Path) -> None:
    with consuming(vhost, tmp_path) as process:
        vhost.management.delete(f"queues/{quote(vhost.name)}/{quote(QUEUE)}")
        retry = process.wait_for_log(RETRYING)
        assert retry["error"].startswith("ConsumerCancelled")
        process.wait_for(lambda: len(logged(process, "consuming")) == 2, "consuming again", timeout=20)
        publish(vhost, envelope("after"))
        process.wait_for_log("handled")
    assert handled(tmp_path) == ["after"]


def test_an_unreachable_broker_is_retried_with_growing_delays_and_sigterm_still_stops_it(
    tmp_path: Path,
) -> None:
    with consumer(f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F", tmp_path) as process:
        process.wait_for(lambda: len(logged(process, RETRYING)) >= 3, "3 attempts")
        process.signal(signal.SIGTERM)
        stopping = time.monotonic()
        assert process.popen.wait(5) == 0
        assert time.monotonic() - stopping < 1
    attempts = logged(process, RETRYING)
    assert [a["attempt"] for a in attempts[:3]] == [1, 2, 3]
    assert [a["retry_in_s"] for a in attempts[:3]] == [0.5, 1.0, 2.0]
    assert "guest:guest" not in process.log_text()


def connection_names(vhost: VirtualHost, timeout: float = 15) -> list[str]:
    """The consumer's connections as the broker names them (the management API lists them after a while)."""
    connections = eventually(
        lambda: vhost.management.get(f"vhosts/{quote(vhost.name)}/connections"),
        "the management API to list the consumer's connection",
        timeout,
        interval=0.2,
    )
    return [c["client_properties"]["connection_name"] for c in connections]


def test_a_slack_retry_of_an_event_already_handled_has_no_second_effect_even_after_a_restart(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    def event(text: str) -> bytes:
        first_try = an_envelope(text)
        return first_try.model_copy(update={"payload": {**first_try.payload, "event_id": "Ev-once"}}).encode()

    with consuming(vhost, tmp_path) as process:
        publish(vhost, event("first try"))
        process.wait_for_log("handled", consumer=NAME)
    with consuming(vhost, tmp_path, log_name="restarted.log") as restarted:
        publish(vhost, event("slack retry"))
        restarted.wait_for_log("duplicate skipped: already handled", request="event:Ev-once")
    assert handled(tmp_path) == ["first try"]
    assert vhost.queue_depth(QUEUE) == 0


def test_a_consumer_serves_prometheus_metrics_of_what_became_of_its_messages(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    port = free_port()
    delays = json.dumps([50])
    with consuming(vhost, tmp_path, CONSUMER_METRICS_PORT=str(port), TEST_FAIL_ON="poison",
                   CONSUMER_RETRY_DELAYS_MS=delays) as process:  # fmt: skip
        publish(vhost, envelope("fine"))
        publish(vhost, envelope("poison"))
        process.wait_for(lambda: vhost.queue_depth(DEAD) == 1, "poison in the dead queue")
        exposition = http.get(f"http://127.0.0.1:{port}/metrics").body.decode()
    for outcome, count in {"handled": 1, "failed": 2, "retried": 1, "dead_lettered": 1}.items():
        assert (
            f'slack_fanout_consumer_messages_total{{consumer="audit",outcome="{outcome}"}} {count}.0'
            in exposition
        )
    assert 'slack_fanout_consumer_handler_seconds_count{consumer="audit"} 3.0' in exposition


def test_with_concurrency_several_handlers_run_at_once(vhost: VirtualHost, tmp_path: Path) -> None:
    with consuming(vhost, tmp_path, prefetch=4, CONSUMER_CONCURRENCY="4", TEST_SLEEP_SECONDS="1") as process:
        for number in range(4):
            publish(vhost, envelope(f"m{number}"))
        process.wait_for(lambda: len(handled(tmp_path)) == 4, "all four handled")
        messages = [record["message"] for record in process.log_records()]
    first_done = messages.index("handled")
    assert messages[:first_done].count("handler started") == 4
