"""Synchronous answers: which requests wait for the primary's reply, and matching replies to requests.

Slack shows what a slash command, an outgoing webhook, a modal submission or an options
request gets back in the HTTP response itself. With reply passthrough on, the gateway
publishes such a request as usual (confirmed, to every queue) with RabbitMQ's direct
reply-to address, then waits, until a deadline, for one consumer's answer to return it.
No answer in time: the empty 200 of before; the request is safe in every queue anyway.
See docs/replies.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from slack_fanout.envelope import Envelope, Kind

DEFAULT_REPLY_KINDS = frozenset(
    {"slash_command", "outgoing_webhook", "view_submission", "block_suggestion", "interactive_message"}
)
"""Request kinds, or interactivity payload types, whose HTTP response Slack shows to the user."""


def waits_for_reply(envelope: Envelope, reply_kinds: frozenset[str]) -> bool:
    if envelope.kind.value in reply_kinds:
        return True
    return envelope.kind is Kind.INTERACTIVE and envelope.payload.get("type") in reply_kinds


@dataclass(frozen=True)
class Reply:
    content_type: str
    body: bytes


class _Waiter:
    __slots__ = ("_arrived", "reply")

    def __init__(self) -> None:
        self._arrived = threading.Event()
        self.reply: Reply | None = None

    def fill(self, reply: Reply) -> None:
        self.reply = reply
        self._arrived.set()

    def wait(self, timeout: float) -> Reply | None:
        self._arrived.wait(max(timeout, 0))
        return self.reply


class ReplyRegistry:
    """Requests waiting for a reply, by correlation id (the envelope id). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, _Waiter] = {}

    def expect(self, correlation_id: str) -> _Waiter:
        waiter = _Waiter()
        with self._lock:
            self._waiting[correlation_id] = waiter
        return waiter

    def forget(self, correlation_id: str) -> None:
        with self._lock:
            self._waiting.pop(correlation_id, None)

    def deliver(self, correlation_id: str | None, reply: Reply) -> bool:
        """False when nobody waits any more (the deadline passed, or a second reply)."""
        with self._lock:
            waiter = self._waiting.pop(correlation_id or "", None)
        if waiter is None:
            return False
        waiter.fill(reply)
        return True
