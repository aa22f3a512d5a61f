"""Specification of what becomes of one message, before any broker is involved."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from consumers.context import Context
from consumers.dedupe import Ledger
from consumers.dispatch import Delivery, Dispatcher, Outcome
from consumers.handlers import Handler
from consumers.slack_actions import RecordingSlack
from slack_fanout.envelope import Envelope, Kind
from slack_fanout.topology import DELIVERY_LIMIT
from testbed.envelopes import an_envelope
from tests.support.logged import captured, fields, json_lines

seen: list[tuple[Envelope, Context]] = []


def remember(envelope: Envelope, context: Context) -> None:
    seen.append((envelope, context))
    context.log.info("handler says hello")


def explode(_envelope: Envelope, _context: Context) -> None:
    raise KeyError("missing field")


def dispatch(handler: Handler, body: bytes, retries_made: int = 0, retries_left: int = 3) -> Outcome:
    delivery = Delivery(body, retries_made, retries_left)
    return Dispatcher("audit", handler, RecordingSlack).process(delivery).outcome


@pytest.fixture(autouse=True)
def _capture(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    seen.clear()


def test_a_handled_message_is_acked_and_logged_with_the_hash_of_its_bytes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    envelope = an_envelope("hi")
    body = envelope.encode()

    assert dispatch(remember, body) is Outcome.ACK

    [(received, _context)] = seen
    assert received == envelope
    [record] = captured(caplog, "handled")
    handled = fields(record)
    assert (handled["consumer"], handled["envelope_id"], handled["kind"]) == (
        "audit",
        envelope.id,
        "slash_command",
    )
    assert handled["message_sha256"] == hashlib.sha256(body).hexdigest()
    assert handled["duration_ms"] >= 0


def test_the_context_logs_with_the_consumer_and_envelope_id_and_records_in_shadow_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    envelope = an_envelope()
    dispatch(remember, envelope.encode())

    [(_envelope, context)] = seen
    [record] = captured(caplog, "handler says hello")
    line = fields(record)
    assert (line["consumer"], line["envelope_id"]) == ("audit", envelope.id)
    assert isinstance(context.slack, RecordingSlack)


def test_a_failing_handler_has_the_message_retried_and_says_how_many_retries_are_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    envelope = an_envelope()

    assert dispatch(explode, envelope.encode(), retries_made=2) is Outcome.RETRY

    [record] = captured(caplog, "handler failed")
    failed = fields(record)
    assert (failed["envelope_id"], failed["error_type"], failed["error"]) == (
        envelope.id,
        "KeyError",
        "'missing field'",
    )
    assert (failed["retries_made"], failed["retries_left"]) == (2, 3)
    assert record.exc_info is not None  # the traceback, for whoever fixes the handler


def test_on_its_last_allowed_delivery_a_failure_leaves_no_retries(caplog: pytest.LogCaptureFixture) -> None:
    dispatch(explode, an_envelope().encode(), retries_made=DELIVERY_LIMIT, retries_left=0)
    [failed] = captured(caplog, "handler failed")
    assert fields(failed)["retries_left"] == 0


def test_a_message_on_its_last_delivery_is_dead_lettered_without_running_the_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The consumer crashed or stopped on it every time: the queue would drop it if this one fails too."""
    envelope = an_envelope()
    result = Dispatcher("audit", remember, RecordingSlack).process(
        Delivery(envelope.encode(), retries_made=0, retries_left=3, last_delivery=True)
    )
    assert result.outcome is Outcome.DEAD_LETTER
    assert result.error is not None and f"delivered {DELIVERY_LIMIT + 1} times" in result.error
    assert seen == []
    [set_aside] = captured(caplog, "delivered too often without being settled: dead-lettered")
    assert fields(set_aside)["envelope_id"] == envelope.id


@pytest.mark.parametrize(
    "body",
    [b"not json: SECRET", b'{"version": 1, "kind": "slash_command", "body": "SECRET"}', b"\xff\xfe SECRET"],
    ids=["not-json", "incomplete", "not-utf8"],
)
def test_a_message_that_is_no_envelope_is_dead_lettered_without_logging_its_body(
    caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    assert dispatch(remember, body) is Outcome.DEAD_LETTER

    assert seen == []
    [record] = captured(caplog, "not an envelope: dead-lettered")
    rejected = fields(record)
    assert rejected["message_sha256"] == hashlib.sha256(body).hexdigest()
    assert rejected["reason"]
    assert "SECRET" not in json_lines(caplog)


def test_a_redelivered_copy_of_a_handled_request_is_skipped(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    dispatcher = Dispatcher("audit", remember, RecordingSlack, ledger)
    body = an_envelope("once").encode()
    assert dispatcher.process(Delivery(body, redelivered=False)).outcome is Outcome.ACK
    assert dispatcher.process(Delivery(body, redelivered=True)).outcome is Outcome.ACK
    assert len(seen) == 1


def test_a_slack_retry_of_an_event_is_skipped_though_it_is_a_first_delivery(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    dispatcher = Dispatcher("audit", remember, RecordingSlack, ledger)
    first, retry = (
        an_envelope().model_copy(update={"kind": Kind.EVENT_CALLBACK, "payload": {"event_id": "Ev1"}})
        for _ in range(2)
    )
    assert first.id != retry.id
    dispatcher.process(Delivery(first.encode(), redelivered=False))
    dispatcher.process(Delivery(retry.encode(), redelivered=False))
    assert [envelope.id for envelope, _context in seen] == [first.id]


def test_a_busy_consumer_can_log_each_handled_message_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    Dispatcher("audit", remember, RecordingSlack, log_handled=False).process(Delivery(an_envelope().encode()))
    [handled] = captured(caplog, "handled")
    assert handled.levelno == logging.DEBUG
