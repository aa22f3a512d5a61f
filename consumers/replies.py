"""A replying consumer's answer: what it is, and where it goes when the gateway no longer waits.

The gateway waits for the answer to a slash command, outgoing webhook, modal submission or
options request until ``envelope.reply_by`` (docs/replies.md). An answer ready before then
goes back through RabbitMQ's direct reply-to and Slack gets it in the HTTP response. An
answer ready after (the consumer was down, backlogged or slow) is not lost: it goes to the
request's ``response_url``, or for an outgoing webhook, which has none, to its channel
with ``chat.postMessage``; only an answer with neither is dropped, logged and counted.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from consumers.errors import InvalidReply
from consumers.slack_actions import SlackActions
from slack_fanout.envelope import Envelope, Kind, Reply

TRANSIT_MARGIN = timedelta(milliseconds=100)
"""An answer ready this close to the deadline could reach the gateway after it gave up: send it late."""


def late_message(reply: Reply) -> dict[str, Any] | None:
    """The answer as a Slack message for a late delivery; None when there is nothing to show."""
    text = reply.body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    if reply.content_type.startswith("application/json"):
        try:
            message = json.loads(text)
        except ValueError:
            return {"text": text}
        return message if isinstance(message, dict) else {"text": text}
    return {"text": text}


def reply_from_value(value: object) -> Reply | None:
    """A handler's return value as an answer: dict → JSON, str → text, None → no answer."""
    if value is None or isinstance(value, Reply):
        return value
    if isinstance(value, dict):
        return Reply("application/json", json.dumps(value).encode())
    if isinstance(value, str):
        return Reply("text/plain; charset=utf-8", value.encode())
    raise InvalidReply(f"a handler may return a dict, a str or None, not {type(value).__name__}")


def in_time(envelope: Envelope, now: datetime) -> bool:
    """Whether the gateway is still waiting for this answer."""
    return envelope.reply_by is not None and now < envelope.reply_by - TRANSIT_MARGIN


class LateRoute(Enum):
    RESPONSE_URL = "response_url"
    CHAT_POST_MESSAGE = "chat.postMessage"
    EMPTY = "empty"
    """Nothing to show (an empty 200): nothing to send."""
    DROPPED = "dropped"


def deliver_late(reply: Reply, envelope: Envelope, slack: SlackActions) -> LateRoute:
    """Send an answer the gateway no longer waits for by the route Slack offers for this request.

    Raises ``SlackCallFailed`` when that route refuses it.
    """
    message = late_message(reply)
    if message is None:
        return LateRoute.EMPTY
    if envelope.response_url is not None:
        slack.respond(envelope.response_url, message)
        return LateRoute.RESPONSE_URL
    channel = envelope.payload.get("channel_id")
    if not (envelope.kind is Kind.OUTGOING_WEBHOOK and isinstance(channel, str) and "text" in message):
        return LateRoute.DROPPED
    if slack.post_message(channel, **message):
        return LateRoute.CHAT_POST_MESSAGE
    return LateRoute.DROPPED
