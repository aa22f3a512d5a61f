"""Specification of the example bot, run with recorded side effects (as the shadow runs it)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from consumers import bot
from consumers.context import Context
from consumers.errors import NoResponseUrl
from consumers.slack_actions import RecordingSlack
from slack_fanout.envelope import Envelope, Kind, Verification
from slack_fanout.logs import BoundLogger
from testbed import slack
from tests.support.logged import captured, fields, json_lines


def envelope_of(kind: Kind, body: bytes, payload: dict) -> Envelope:
    return Envelope(
        kind=kind, verified_by=Verification.SIGNATURE, path="/slack/events", content_type=slack.FORM,
        headers={}, body=body.decode(), payload=payload,
    )  # fmt: skip


def context_for(envelope: Envelope) -> Context:
    log = BoundLogger(logging.getLogger("test.bot"), {"consumer": "shadow", "envelope_id": envelope.id})
    return Context("shadow", envelope, log, RecordingSlack(log))


def run_bot(envelope: Envelope, caplog: pytest.LogCaptureFixture) -> list[Mapping[str, Any]]:
    """The Slack calls the bot made for ``envelope``, each as the fields it was logged with."""
    caplog.set_level(logging.INFO)
    bot.handle(envelope, context_for(envelope))
    return [fields(record) for record in captured(caplog, "slack call recorded")]


def action_logged(caplog: pytest.LogCaptureFixture) -> str:
    [record] = captured(caplog, "bot handled")
    return fields(record)["action"]


def test_a_slash_command_is_answered_ephemerally_through_its_response_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = {"command": "/weather", "text": "Oslo", "response_url": "https://hooks.example/1"}
    [call] = run_bot(envelope_of(Kind.SLASH_COMMAND, slack.form(payload), payload), caplog)
    assert call["method"] == "respond"
    assert call["arguments"] == {
        "response_url": "https://hooks.example/1",
        "message": {"text": "Got `/weather Oslo`", "response_type": "ephemeral"},
    }
    assert call["envelope_id"] and call["consumer"] == "shadow"
    assert action_logged(caplog) == "respond"


def test_a_mention_is_answered_in_its_channel(caplog: pytest.LogCaptureFixture) -> None:
    payload = json.loads(slack.event_callback(text="hi bot"))
    [call] = run_bot(envelope_of(Kind.EVENT_CALLBACK, slack.event_callback(), payload), caplog)
    assert (call["method"], call["arguments"]) == (
        "chat.postMessage",
        {"channel": "C2147483705", "text": "You said: hi bot"},
    )


def test_a_plain_message_is_answered_too(caplog: pytest.LogCaptureFixture) -> None:
    payload = json.loads(slack.event_callback(text="hello"))
    payload["event"]["type"] = "message"
    [call] = run_bot(envelope_of(Kind.EVENT_CALLBACK, slack.event_callback(), payload), caplog)
    assert call["arguments"]["text"] == "You said: hello"


@pytest.mark.parametrize(
    "change",
    [{"bot_id": "B1"}, {"subtype": "message_changed"}, {"type": "reaction_added"}, {"channel": None}],
    ids=["from-a-bot", "subtype", "other-event", "no-channel"],
)
def test_other_events_and_messages_from_bots_are_never_answered(
    caplog: pytest.LogCaptureFixture, change: dict
) -> None:
    payload = json.loads(slack.event_callback())
    payload["event"].update(change)
    assert run_bot(envelope_of(Kind.EVENT_CALLBACK, slack.event_callback(), payload), caplog) == []
    assert action_logged(caplog) == "none"


def test_a_block_action_is_acknowledged_through_its_response_url(caplog: pytest.LogCaptureFixture) -> None:
    payload = json.loads(slack.interactive_payload(slack.block_action(value="ship")))
    [call] = run_bot(envelope_of(Kind.INTERACTIVE, slack.block_action(), payload), caplog)
    assert call["arguments"]["message"] == {"text": "Action received: ship", "replace_original": False}


def test_an_outgoing_webhook_is_logged_without_its_text_and_causes_no_side_effect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = {"text": "googlebot: secret plans", "trigger_word": "googlebot:", "channel_id": "C1"}
    assert run_bot(envelope_of(Kind.OUTGOING_WEBHOOK, slack.form(payload), payload), caplog) == []
    [record] = captured(caplog, "outgoing webhook received")
    received = fields(record)
    assert (received["trigger_word"], received["channel_id"]) == ("googlebot:", "C1")
    assert "secret plans" not in json_lines(caplog)


def test_respond_without_a_response_url_is_a_named_error() -> None:
    envelope = envelope_of(Kind.EVENT_CALLBACK, b"{}", {})
    with pytest.raises(NoResponseUrl):
        context_for(envelope).respond(text="hi")
