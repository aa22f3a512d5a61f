"""The example production bot: what ``consumers.primary`` runs, and ``consumers.shadow`` in shadow mode.

Replace it with your own handler; a handler is any ``function(envelope, context)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consumers.context import Context
from slack_fanout.envelope import Envelope, Kind

ANSWERED_EVENTS = frozenset({"app_mention", "message"})


def handle(envelope: Envelope, context: Context) -> None:
    """Answer the request as the bot would, then log what was done (never the user's text)."""
    answer = _ANSWERS.get(envelope.kind, _ignore)
    action = answer(envelope.payload, context)
    context.log.info("bot handled", extra={"kind": envelope.kind.value, "action": action})


def _slash_command(payload: dict[str, Any], context: Context) -> str:
    command = f"{payload.get('command', '')} {payload.get('text', '')}".strip()
    context.respond(text=f"Got `{command}`", response_type="ephemeral")
    return "respond"


def _interaction(payload: dict[str, Any], context: Context) -> str:
    if payload.get("type") != "block_actions":
        return "none"
    values = ", ".join(str(action.get("value")) for action in payload.get("actions", []))
    context.respond(text=f"Action received: {values}", replace_original=False)
    return "respond"


def _event(payload: dict[str, Any], context: Context) -> str:
    event = payload.get("event") or {}
    from_a_bot = "bot_id" in event or "subtype" in event  # edits, joins, and our own posts: never answered
    if event.get("type") not in ANSWERED_EVENTS or from_a_bot or not event.get("channel"):
        return "none"
    context.slack.post_message(event["channel"], f"You said: {event.get('text', '')}")
    return "chat.postMessage"


def _outgoing_webhook(payload: dict[str, Any], context: Context) -> str:
    context.log.info(
        "outgoing webhook received",
        extra={"trigger_word": payload.get("trigger_word"), "channel_id": payload.get("channel_id")},
    )
    return "none"


def _ignore(_payload: dict[str, Any], _context: Context) -> str:
    return "none"


_ANSWERS: dict[Kind, Callable[[dict[str, Any], Context], str]] = {
    Kind.SLASH_COMMAND: _slash_command,
    Kind.INTERACTIVE: _interaction,
    Kind.EVENT_CALLBACK: _event,
    Kind.OUTGOING_WEBHOOK: _outgoing_webhook,
}
