"""Specification of the example bot, run with recorded side effects (as the shadow runs it)."""

from __future__ import annotations

import json
import logging

import pytest

from consumers import bot
from consumers.context import Context
from consumers.errors import NoResponseUrl
from consumers.slack_actions import RecordingSlack
from slack_fanout.envelope import Envelope, Kind, Verification
from slack_fanout.logs import BoundLogger
from tests.support import slack


def envelope_of(kind: Kind, body: bytes, payload: dict) -> Envelope:
    return Envelope(
        kind=kind, verified_by=Verification.SIGNATURE, path="/slack/events", content_type=slack.FORM,
        headers={}, body=body.decode(), payload=payload,
    )  # fmt: skip


def run_bot(envelope: Envelope, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    caplog.set_level(logging.INFO)
    log = BoundLogger(logging.getLogger("test.bot"), {"consumer": "shadow", "envelope_id": envelope.id})
    bot.handle(envelope, Context("shadow", envelope, log, RecordingSlack(log)))
    return [record for record in caplog.records if record.getMessage() == "slack call recorded"]


def test_a_slash_command_is_answered_ephemerally_through_its_response_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = {"command": "/weather", "text": "Oslo", "response_url": "https://hooks.example/1"}
    [call] = run_bot(envelope_of(Kind.SLASH_COMMAND, slack.form(payload), payload), caplog)
    assert call.method == "respond"
    assert call.arguments == {
        "response_url": "https://hooks.example/1",
        "message": {"text": "Got `/weather Oslo`", "response_type": "ephemeral"},
    }
    assert call.envelope_id and call.consumer == "shadow"


def test_a_mention_is_answered_in_its_channel(caplog: pytest.LogCaptureFixture) -> None:
    payload = json.loads(slack.event_callback(text="hi bot"))
    [call] = run_bot(envelope_of(Kind.EVENT_CALLBACK, slack.event_callback(), payload), caplog)
    assert (call.method, call.arguments) == (
        "chat.postMessage",
        {"channel": "C2147483705", "text": "You said: hi bot"},
    )


def test_messages_from_bots_are_never_answered(caplog: pytest.LogCaptureFixture) -> None:
    payload = json.loads(slack.event_callback())
    payload["event"]["bot_id"] = "B1"
    assert run_bot(envelope_of(Kind.EVENT_CALLBACK, slack.event_callback(), payload), caplog) == []


def test_a_block_action_is_acknowledged_through_its_response_url(caplog: pytest.LogCaptureFixture) -> None:
    payload = json.loads(slack.interactive_payload(slack.block_action(value="ship")))
    [call] = run_bot(envelope_of(Kind.INTERACTIVE, slack.block_action(), payload), caplog)
    assert call.arguments["message"]["text"] == "Action received: ship"


def test_an_outgoing_webhook_causes_no_side_effect(caplog: pytest.LogCaptureFixture) -> None:
    payload = {"text": "googlebot: hi", "trigger_word": "googlebot:", "channel_id": "C1", "user_id": "U1"}
    assert run_bot(envelope_of(Kind.OUTGOING_WEBHOOK, slack.form(payload), payload), caplog) == []


def test_respond_without_a_response_url_is_a_named_error() -> None:
    envelope = envelope_of(Kind.EVENT_CALLBACK, b"{}", {})
    log = BoundLogger(logging.getLogger("test.bot"), {})
    with pytest.raises(NoResponseUrl):
        Context("primary", envelope, log, RecordingSlack(log)).respond(text="hi")
