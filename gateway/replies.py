"""Synchronous answers: which requests wait for the primary's reply, and matching replies to requests.

Slack shows what a slash command, an outgoing webhook, a modal submission or an options
request gets back in the HTTP response itself. With reply passthrough on, the gateway
publishes such a request as usual (confirmed, to every queue) with RabbitMQ's direct
reply-to address, then waits, until a deadline, for one consumer's answer to return it.
No answer in time: the empty 200 of before; the request is safe in every queue anyway.
See docs/replies.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from enum import Enum

from gateway import metrics
from slack_fanout.envelope import ANSWER_SHOWN_KINDS, Envelope, Reply

log = logging.getLogger(__name__)

DEFAULT_REPLY_KINDS = ANSWER_SHOWN_KINDS
"""By default, a request waits for an answer whenever Slack shows its HTTP response to the user."""


def waits_for_reply(envelope: Envelope, reply_kinds: frozenset[str]) -> bool:
    return envelope.answer_is_shown(reply_kinds)


class ReplyOutcome(Enum):
    """What became of a request's wait for its answer: the label of ``metrics.REPLIES``."""

    IN_TIME = "in_time"
    """Returned to Slack."""
    NONE = "none"
    """No answer by the deadline: Slack got the empty 200."""
    TOO_LARGE = "too_large"
    UNUSABLE = "unusable"
    """An answer Socket Mode cannot carry in its ack (not JSON)."""
    NOT_AWAITED = "not_awaited"
    """The primary had answered nothing lately (``ReplyBreaker``): the request did not wait."""
    LATE = "late"
    """An answer after its request stopped waiting: dropped here (the consumer uses ``response_url``)."""


def judge(reply: Reply | None, max_bytes: int) -> ReplyOutcome:
    """The outcome of a wait that ended with ``reply`` (``None``: the deadline passed)."""
    if reply is None:
        return ReplyOutcome.NONE
    return ReplyOutcome.TOO_LARGE if len(reply.body) > max_bytes else ReplyOutcome.IN_TIME


def with_deadline(envelope: Envelope, wait_seconds: float) -> Envelope:
    """The envelope as published: ``reply_by`` its arrival plus the wait, which a consumer past that
    instant reads as "answer by ``response_url``" (0: from the start)."""
    return envelope.model_copy(update={"reply_by": envelope.received_at + timedelta(seconds=wait_seconds)})


class ReplyBreaker:
    """Stops requests waiting for answers while the primary gives none. Thread-safe, one per worker.

    A waiting request holds one of its worker's connections (``GATEWAY_CONNECTIONS``) until the
    deadline. With the primary stopped or stuck, every such request would hold one for the whole
    deadline, and a few dozen a second would take every one of the worker's, Events API
    callbacks' included. After
    ``threshold`` waits in a row end without an answer, requests stop waiting (their answers
    then come late, through ``response_url``), but for one probe every ``probe_interval``
    seconds; an answer to a probe makes requests wait again.
    """

    def __init__(
        self, threshold: int = 3, probe_interval: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = threshold
        self._probe_interval = probe_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._misses = 0
        self._probing = False
        self._next_probe = 0.0

    def should_wait(self) -> bool:
        with self._lock:
            if self._misses < self._threshold:
                return True
            now = self._clock()
            if self._probing or now < self._next_probe:
                return False
            self._probing, self._next_probe = True, now + self._probe_interval
            return True

    def record(self, answered: bool) -> None:
        with self._lock:
            self._probing = False
            self._misses = 0 if answered else self._misses + 1
            if self._misses >= self._threshold:
                self._next_probe = self._clock() + self._probe_interval


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

    def deliver(self, correlation_id: str | None, reply: Reply) -> None:
        """To the request waiting for it; counted and logged as late when none waits any more (the
        deadline passed, or a second reply)."""
        with self._lock:
            waiter = self._waiting.pop(correlation_id or "", None)
        if waiter is None:
            metrics.REPLIES.labels(ReplyOutcome.LATE.value).inc()
            log.info("reply after the deadline dropped", extra={"envelope_id": correlation_id})
            return
        waiter.fill(reply)
