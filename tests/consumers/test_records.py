"""The behaviour record of each envelope, built by the dispatcher: outcome, answer, calls, redaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers import capture, metrics
from consumers.capture.redaction import REDACTED, redact
from consumers.context import Context
from consumers.dedupe import Ledger
from consumers.dispatch import Delivery, Dispatcher, Result
from consumers.records import BehaviourRecorder
from consumers.slack_actions import RecordingSlack
from slack_fanout.behaviour import BehaviourRecord, CallMode, CallTarget, Outcome
from slack_fanout.envelope import Envelope, Kind, Verification
from testbed import slack

RECORDER = BehaviourRecorder("shadow", "abc123", shadow=True, settle_timeout_s=5)
RESPONSE_URL = "https://hooks.slack.com/commands/T0001/42/c2VjcmV0"


@pytest.fixture(autouse=True)
def shadow_capture() -> Iterator[None]:
    capture.install(capture.CaptureConfig("shadow", shadow=True))
    yield
    capture.uninstall()


def a_command(text: str = "deploy") -> Envelope:
    body = slack.slash_command(text=text, response_url=RESPONSE_URL)
    return Envelope(kind=Kind.SLASH_COMMAND, verified_by=Verification.SIGNATURE, path="/slack/events",
                    content_type=slack.FORM, headers={"x-slack-signature": "v0=abc"}, body=body.decode(),
                    payload={"command": "/deploy", "text": text, "response_url": RESPONSE_URL,
                             "token": slack.VERIFICATION_TOKEN})  # fmt: skip


def record_of(result: Result) -> BehaviourRecord:
    assert result.record is not None
    body = result.record.settle()
    assert body is not None
    return BehaviourRecord.decode(body)


def respond_and_post(envelope: Envelope, context: Context) -> dict[str, str]:
    context.respond(text=f"Deployed {envelope.payload['text']}")
    context.slack.post_message("C1", "done", token="xoxb-999-handler-passed-token")
    return {"text": "On it"}


def dispatcher(handler, ledger: Ledger | None = None) -> Dispatcher:
    return Dispatcher("shadow", handler, RecordingSlack, ledger, recorder=RECORDER)


def test_a_handled_envelope_gets_a_record_of_its_answer_and_its_suppressed_calls() -> None:
    envelope = a_command()
    record = record_of(dispatcher(respond_and_post).process(Delivery(envelope.encode())))
    assert (record.envelope_id, record.consumer, record.code_version) == (envelope.id, "shadow", "abc123")
    assert (record.endpoint, record.outcome, record.shadow, record.settled) == (
        "command:/deploy", Outcome.HANDLED, True, True)  # fmt: skip
    assert (
        record.answer is not None
        and record.answer.status == 200
        and record.answer.body == '{"text": "On it"}'
    )
    assert [(c.target, c.method, c.mode) for c in record.calls] == [
        (CallTarget.WEBHOOK, "response_url", CallMode.SUPPRESSED),
        (CallTarget.WEB_API, "chat.postMessage", CallMode.SUPPRESSED),
    ]
    assert record.calls[1].arguments == {"channel": "C1", "text": "done", "token": REDACTED}
    assert record.inbound["token"] == REDACTED
    assert record.inbound["response_url"] == f"https://hooks.slack.com/{REDACTED}"


def test_a_failure_is_recorded_with_its_exception_and_the_last_one_as_dead_lettered() -> None:
    def explode(_envelope: Envelope, _context: Context) -> None:
        raise KeyError("missing field")

    body = a_command().encode()
    failed = record_of(dispatcher(explode).process(Delivery(body, retries_left=2)))
    last = record_of(dispatcher(explode).process(Delivery(body, retries_made=5, retries_left=0)))
    assert (failed.outcome, failed.exceptions) == (Outcome.FAILED, ["KeyError: 'missing field'"])
    assert last.outcome is Outcome.DEAD_LETTERED


def test_a_duplicate_is_recorded_as_skipped_without_calls(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    body = a_command().encode()
    dispatcher(respond_and_post, ledger).process(Delivery(body, redelivered=False))
    skipped = record_of(dispatcher(respond_and_post, ledger).process(Delivery(body, redelivered=True)))
    assert (skipped.outcome, skipped.calls, skipped.answer) == (Outcome.DUPLICATE_SKIPPED, [], None)
    ledger.close()


def test_a_record_that_cannot_be_built_is_counted_and_never_fails_the_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(BehaviourRecord, "encode", lambda _self: 1 / 0)
    before = metrics.RECORD_FAILURES.labels("shadow", "record")._value.get()
    result = dispatcher(respond_and_post).process(Delivery(a_command().encode()))
    assert result.record is not None and result.record.settle() is None
    assert result.reply is None and result.error is None  # handled: acknowledged as usual
    assert metrics.RECORD_FAILURES.labels("shadow", "record")._value.get() == before + 1


def test_no_consumer_records_without_a_recorder() -> None:
    result = Dispatcher("audit", respond_and_post, RecordingSlack).process(Delivery(a_command().encode()))
    assert result.record is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"token": "gIkuvaNzQIHg97ATvDxqgjtO"}, {"token": REDACTED}),
        ({"Authorization": "Bearer xoxb-1-2-3"}, {"Authorization": REDACTED}),
        ({"x-slack-signature": "v0=abc"}, {"x-slack-signature": REDACTED}),
        ({"nested": [{"client_secret": "s3cr3t"}]}, {"nested": [{"client_secret": REDACTED}]}),
        ({"response_url": "http://127.0.0.1:9/commands/T/1/x"}, {"response_url": f"http://127.0.0.1:9/{REDACTED}"}),
        ({"text": "use xoxb-12345-67890-abcdef now"}, {"text": f"use {REDACTED} now"}),
        ({"text": "hook https://hooks.slack.com/services/T1/B1/zzz ok"},
         {"text": f"hook https://hooks.slack.com/{REDACTED} ok"}),
        ({"text": "plain words", "ts": "1.2"}, {"text": "plain words", "ts": "1.2"}),
        ({"token": ""}, {"token": ""}),
    ],
)  # fmt: skip
def test_redaction(value: object, expected: object) -> None:
    assert redact(value) == expected
