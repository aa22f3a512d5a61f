"""Specification of a replying consumer's answer: in time to the gateway, late by Slack's own routes."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from consumers.dispatch import Delivery, Dispatcher, Outcome, ReplyMode, Result
from consumers.errors import InvalidReply, SlackCallFailed
from consumers.replies import TRANSIT_MARGIN, LateRoute, deliver_late, reply_from_value
from slack_fanout.envelope import Envelope, Kind, Reply, utc_now
from testbed import slack
from testbed.envelopes import an_envelope
from tests.support.logged import captured, fields

REPLY_TO = "amq.rabbitmq.reply-to.g1h2AA"
RESPONSE_URL = "https://hooks.slack.com/commands/T1/1/x"


class FakeSlack:
    """Keeps every call; ``refuse`` makes each raise like a refusal from Slack; ``has_token`` False
    makes chat.postMessage skipped, as without a bot token."""

    def __init__(self, refuse: bool = False, has_token: bool = True) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._refuse = refuse
        self._has_token = has_token

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        if self._refuse:
            raise SlackCallFailed("response_url answered HTTP 404")
        self.calls.append((response_url, message))

    def post_message(self, channel: str, text: str, **fields: Any) -> bool:
        if self._has_token:
            self.calls.append((channel, {"text": text, **fields}))
        return self._has_token


def waited_for(envelope: Envelope, seconds_left: float) -> Envelope:
    return envelope.model_copy(update={"reply_by": utc_now() + timedelta(seconds=seconds_left)})


def answer(envelope: Envelope, value: object = None, **options: Any) -> tuple[Result, FakeSlack]:
    """Dispatch ``envelope`` to a handler returning ``value`` (default: a JSON answer)."""
    fake = options.pop("slack", FakeSlack())
    mode = options.pop("mode", ReplyMode.SEND)
    reply_to = options.pop("reply_to", REPLY_TO)
    returned = {"text": "Sunny"} if value is None else value
    dispatcher = Dispatcher("primary", lambda _e, _c: returned, lambda _log: fake, replies=mode)
    return dispatcher.process(Delivery(envelope.encode(), reply_to=reply_to)), fake


# What a handler's return value means.


def test_a_dict_is_a_json_answer_a_str_a_text_answer_and_none_no_answer() -> None:
    assert reply_from_value({"text": "hi"}) == Reply("application/json", b'{"text": "hi"}')
    assert reply_from_value("hi") == Reply("text/plain; charset=utf-8", b"hi")
    assert reply_from_value(None) is None


def test_anything_else_is_a_handler_bug_and_fails_the_message() -> None:
    with pytest.raises(InvalidReply, match="not int"):
        reply_from_value(42)
    result, _ = answer(waited_for(an_envelope(), 2), value=42)
    assert result.outcome is Outcome.RETRY
    assert result.error is not None and "InvalidReply" in result.error


# In time: back to the gateway.


def test_an_answer_ready_before_the_deadline_goes_back_to_the_waiting_gateway() -> None:
    result, fake = answer(waited_for(an_envelope(), 2))
    assert result == Result(Outcome.ACK, reply=Reply("application/json", b'{"text": "Sunny"}'))
    assert fake.calls == []


def test_a_consumer_without_reply_and_a_shadow_never_send_an_answer(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for mode in (ReplyMode.DISCARD, ReplyMode.RECORD):
        result, fake = answer(waited_for(an_envelope(), 2), mode=mode)
        assert (result.reply, fake.calls) == (None, [])
    [record] = captured(caplog, "slack call recorded")
    recorded = fields(record)
    assert recorded["method"] == "reply"
    assert recorded["arguments"] == {"content_type": "application/json", "body": '{"text": "Sunny"}'}


# Late: by the route Slack offers for the request.


def slash_command_with_response_url() -> Envelope:
    return an_envelope().model_copy(update={"payload": {"text": "hi", "response_url": RESPONSE_URL}})


@pytest.mark.parametrize("seconds_left", [-1, TRANSIT_MARGIN.total_seconds() / 2], ids=["past", "too-close"])
def test_an_answer_past_or_too_close_to_the_deadline_goes_to_the_response_url(seconds_left: float) -> None:
    result, fake = answer(waited_for(slash_command_with_response_url(), seconds_left))
    assert result == Result(Outcome.ACK)
    assert fake.calls == [(RESPONSE_URL, {"text": "Sunny"})]


def test_a_late_text_answer_becomes_a_message_text() -> None:
    _result, fake = answer(waited_for(slash_command_with_response_url(), -1), value="Sunny")
    assert fake.calls == [(RESPONSE_URL, {"text": "Sunny"})]


def test_a_late_answer_whose_route_refuses_it_is_dropped_without_failing_the_handled_message() -> None:
    result, _fake = answer(waited_for(slash_command_with_response_url(), -1), slack=FakeSlack(refuse=True))
    assert result == Result(Outcome.ACK)


def outgoing_webhook() -> Envelope:
    body = slack.outgoing_webhook()
    return an_envelope().model_copy(
        update={
            "kind": Kind.OUTGOING_WEBHOOK,
            "body": body.decode(),
            "payload": {"channel_id": "C21", "text": "x"},
        }
    )


def test_a_late_outgoing_webhook_answer_is_posted_to_its_channel() -> None:
    reply = Reply("application/json", b'{"text": "Sunny"}')
    assert deliver_late(reply, outgoing_webhook(), fake := FakeSlack()) is LateRoute.CHAT_POST_MESSAGE
    assert fake.calls == [("C21", {"text": "Sunny"})]


def test_without_a_bot_token_a_late_outgoing_webhook_answer_is_dropped() -> None:
    reply = Reply("application/json", b'{"text": "Sunny"}')
    assert deliver_late(reply, outgoing_webhook(), FakeSlack(has_token=False)) is LateRoute.DROPPED


def test_an_empty_late_answer_sends_nothing_and_one_with_no_route_is_dropped() -> None:
    assert (
        deliver_late(Reply("text/plain", b""), slash_command_with_response_url(), FakeSlack())
        is LateRoute.EMPTY
    )
    modal = an_envelope().model_copy(
        update={"kind": Kind.INTERACTIVE, "payload": {"type": "view_submission"}}
    )
    errors = Reply("application/json", b'{"response_action": "errors"}')
    assert deliver_late(errors, modal, fake := FakeSlack()) is LateRoute.DROPPED
    assert fake.calls == []


# Not waited for (reply passthrough off): by the same routes, from the start; never dropped silently.


def late_replies(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return captured(caplog, "late reply")


def replies_counted(outcome: str) -> float:
    labels = {"consumer": "primary", "outcome": outcome}
    return REGISTRY.get_sample_value("slack_fanout_consumer_replies_total", labels) or 0.0


def test_an_answer_no_gateway_waited_for_goes_to_the_response_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    before = replies_counted("not_awaited_response_url")
    result, fake = answer(slash_command_with_response_url(), reply_to=None)
    assert result == Result(Outcome.ACK)
    assert fake.calls == [(RESPONSE_URL, {"text": "Sunny"})]
    [record] = late_replies(caplog)
    late = fields(record)
    assert (late["route"], late["awaited"]) == ("response_url", False)
    assert replies_counted("not_awaited_response_url") == before + 1


def test_an_outgoing_webhooks_answer_no_gateway_waited_for_is_posted_to_its_channel() -> None:
    result, fake = answer(outgoing_webhook(), reply_to=None)
    assert (result, fake.calls) == (Result(Outcome.ACK), [("C21", {"text": "Sunny"})])


def test_an_answer_no_gateway_waited_for_with_no_route_is_logged_and_counted_as_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    before = replies_counted("not_awaited_dropped")
    modal = an_envelope().model_copy(
        update={"kind": Kind.INTERACTIVE, "payload": {"type": "view_submission"}}
    )
    result, fake = answer(modal, reply_to=None)
    assert (result, fake.calls) == (Result(Outcome.ACK), [])
    [logged] = late_replies(caplog)
    assert (logged.levelno, fields(logged)["route"]) == (logging.WARNING, "dropped")
    assert replies_counted("not_awaited_dropped") == before + 1


@pytest.mark.parametrize("kind, payload_type", [(Kind.EVENT_CALLBACK, "event_callback"),
                                                (Kind.INTERACTIVE, "block_actions")])  # fmt: skip
def test_what_a_handler_returns_for_an_event_or_a_block_action_goes_nowhere_as_slack_ignores_it(
    kind: Kind, payload_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    request = an_envelope().model_copy(
        update={"kind": kind, "payload": {"type": payload_type, "response_url": RESPONSE_URL}}
    )
    result, fake = answer(request, reply_to=None)
    assert (result, fake.calls, late_replies(caplog)) == (Result(Outcome.ACK), [], [])


def test_a_shadow_records_an_answer_no_gateway_waited_for_and_sends_it_nowhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    result, fake = answer(slash_command_with_response_url(), reply_to=None, mode=ReplyMode.RECORD)
    assert (result, fake.calls) == (Result(Outcome.ACK), [])
    [recorded] = captured(caplog, "slack call recorded")
    assert fields(recorded)["method"] == "reply"
