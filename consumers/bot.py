"""The example production bot: what ``consumers.primary`` runs, and ``consumers.shadow`` in shadow mode.

Replace it with your own handler; a handler is any ``function(envelope, context)``.
"""

from __future__ import annotations

from consumers.context import Context
from slack_fanout.envelope import Envelope, Kind

ANSWERED_EVENTS = frozenset({"app_mention", "message"})


def handle(envelope: Envelope, context: Context) -> None:
    payload = envelope.payload
    if envelope.kind is Kind.SLASH_COMMAND:
        context.respond(
            text=f"Got `{payload.get('command')} {payload.get('text', '')}`", response_type="ephemeral"
        )
    elif envelope.kind is Kind.INTERACTIVE and payload.get("type") == "block_actions":
        values = ", ".join(str(action.get("value")) for action in payload.get("actions", []))
        context.respond(text=f"Action received: {values}", replace_original=False)
    elif envelope.kind is Kind.EVENT_CALLBACK:
        _answer_event(payload.get("event") or {}, context)
    context.log.info("bot saw request", extra={"kind": envelope.kind.value})


def _answer_event(event: dict, context: Context) -> None:
    from_a_bot = "bot_id" in event or "subtype" in event
    if event.get("type") in ANSWERED_EVENTS and not from_a_bot and event.get("channel"):
        context.slack.post_message(event["channel"], f"You said: {event.get('text', '')}")
