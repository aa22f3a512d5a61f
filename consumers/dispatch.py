"""What happens to one message: decode it, run the handler, and name the outcome.

No broker code here: the runtime turns each ``Outcome`` into an ack or a reject, so this
module is tested without RabbitMQ and later policies (delayed retries, dedupe) slot in as
new outcomes or as steps before the handler.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from consumers import metrics
from consumers.capture import correlation
from consumers.context import Context
from consumers.dedupe import Ledger, identity
from consumers.errors import PermanentFailure, SlackCallFailed
from consumers.handlers import Handler
from consumers.records import BehaviourRecorder, PendingRecord
from consumers.replies import LateRoute, deliver_late, in_time, reply_from_value
from consumers.slack_actions import RecordingSlack, SideEffects
from slack_fanout import behaviour
from slack_fanout.envelope import DecodeError, Envelope, Reply, utc_now
from slack_fanout.logs import BoundLogger
from slack_fanout.topology import DELIVERY_LIMIT

log = logging.getLogger(__name__)
_handler_log = logging.getLogger("consumers.handler")


UNSETTLED_TOO_OFTEN = (
    f"delivered {DELIVERY_LIMIT + 1} times without being settled: the consumer crashed or stopped on it"
)


class Outcome(Enum):
    ACK = "ack"
    """Handled: remove it from the queue."""
    RETRY = "retry"
    """The handler failed: try again after the next delay, or dead-letter it after the last."""
    DEAD_LETTER = "dead_letter"
    """It can never be handled (not an envelope, or refused for good): straight to ``slack.<name>.dead``."""


class ReplyMode(Enum):
    """What a consumer does with its handler's answer (``consumers.replies``)."""

    SEND = "send"
    """``--reply``: back to the waiting gateway, or by the late route once it stopped waiting."""
    RECORD = "record"
    """``--shadow``: logged beside the other recorded side effects, never sent."""
    DISCARD = "discard"


@dataclass(frozen=True)
class Delivery:
    body: bytes
    retries_made: int = 0
    """Retries this consumer already made of the message (header ``x-slack-fanout-retries``); not the
    broker's ``x-delivery-count``, which counts every delivery, redeliveries after a crash too."""
    retries_left: int = 0
    """Retries still to come if this attempt fails; 0 means a failure now dead-letters it."""
    reply_to: str | None = None
    """Where the gateway waits for the answer (direct reply-to), when it does."""
    redelivered: bool = True
    """The broker delivered this message before (to a consumer that did not acknowledge it), or it is
    a copy ``slack-fanout replay`` made of an archived request."""
    last_delivery: bool = False
    """Delivered unsettled ``topology.DELIVERY_LIMIT`` times already: the consumer crashed or stopped
    on it each time. Set aside now, for an operator, rather than lost or looping."""


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reply: Reply | None = None
    """An answer to publish to the delivery's ``reply_to`` before the message is acknowledged."""
    error: str | None = None
    """Why the message failed, kept with its retried or dead-lettered copy."""
    record: PendingRecord | None = None
    """The behaviour record, to settle on the worker and publish before the message is acknowledged."""


class Dispatcher:
    """Hands each delivery to the handler with a fresh context, and logs what became of it."""

    def __init__(
        self,
        consumer: str,
        handler: Handler,
        side_effects: SideEffects,
        ledger: Ledger | None = None,
        replies: ReplyMode = ReplyMode.DISCARD,
        log_handled: bool = True,
        recorder: BehaviourRecorder | None = None,
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._side_effects = side_effects
        self._ledger = ledger
        self._replies = replies
        self._handled_level = logging.INFO if log_handled else logging.DEBUG
        self._recorder = recorder

    def process(self, delivery: Delivery) -> Result:
        started = time.perf_counter()
        fields: dict[str, Any] = {
            "consumer": self._consumer,
            # The same in every consumer's log for one request: proof they all got identical bytes.
            "message_sha256": hashlib.sha256(delivery.body).hexdigest(),
        }
        try:
            envelope = Envelope.decode(delivery.body)
        except DecodeError as error:
            log.error("not an envelope: dead-lettered", extra={**fields, "reason": error.reason})
            self._count("not_an_envelope", "dead_lettered")
            return Result(Outcome.DEAD_LETTER, error=f"not an envelope: {error.reason}")
        fields.update(envelope_id=envelope.id, kind=envelope.kind.value)
        request = identity(envelope)
        if self._ledger is not None and _may_repeat(envelope, delivery) and self._ledger.seen(request):
            log.info("duplicate skipped: already handled", extra={**fields, "request": request})
            self._count("duplicate")
            return Result(
                Outcome.ACK, record=self._record(envelope, None, behaviour.Outcome.DUPLICATE_SKIPPED)
            )
        if delivery.last_delivery:
            log.error("delivered too often without being settled: dead-lettered", extra=fields)
            self._count("delivery_limit", "dead_lettered")
            return Result(
                Outcome.DEAD_LETTER,
                error=UNSETTLED_TOO_OFTEN,
                record=self._record(envelope, None, behaviour.Outcome.DEAD_LETTERED),
            )
        message_log = BoundLogger(_handler_log, {"consumer": self._consumer, "envelope_id": envelope.id})
        context = Context(self._consumer, envelope, message_log, self._side_effects(message_log))
        handling = self._recorder.begin(envelope) if self._recorder is not None else None
        with correlation.handling_of(handling):
            try:
                with metrics.HANDLER_SECONDS.labels(self._consumer).time():
                    reply = reply_from_value(self._handler(envelope, context))
            except PermanentFailure as error:
                log.warning(
                    "handler refused the message: dead-lettered",
                    extra={**fields, **_failure(error, delivery)},
                )
                self._count("refused", "dead_lettered")
                record = self._record(envelope, handling, behaviour.Outcome.DEAD_LETTERED, error=error)
                return Result(Outcome.DEAD_LETTER, error=_describe(error), record=record)
            except Exception as error:
                log.warning("handler failed", exc_info=True, extra={**fields, **_failure(error, delivery)})
                last = delivery.retries_left == 0
                self._count("failed", "dead_lettered" if last else "retried")
                outcome = behaviour.Outcome.DEAD_LETTERED if last else behaviour.Outcome.FAILED
                record = self._record(envelope, handling, outcome, error=error)
                return Result(Outcome.RETRY, error=_describe(error), record=record)
            if self._ledger is not None:
                self._ledger.record(request)
            self._count("handled")
            log.log(
                self._handled_level,
                "handled",
                extra={**fields, "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            )
            record = self._record(envelope, handling, behaviour.Outcome.HANDLED, reply=reply)
            return Result(Outcome.ACK, reply=self._answer(reply, envelope, delivery, context), record=record)

    def _record(
        self,
        envelope: Envelope,
        handling: correlation.Handling | None,
        outcome: behaviour.Outcome,
        reply: Reply | None = None,
        error: Exception | None = None,
    ) -> PendingRecord | None:
        if self._recorder is None:
            return None
        if handling is not None and error is not None:
            handling.add_exception(correlation.describe(error))
        return self._recorder.pending(envelope, handling, outcome, reply)

    def _count(self, *outcomes: str) -> None:
        """``MESSAGES`` for each thing that became of the message (a failure: also where it goes next)."""
        for outcome in outcomes:
            metrics.MESSAGES.labels(self._consumer, outcome).inc()

    def commit(self) -> None:
        """Make the ledger's records of handled messages durable (before they are acknowledged)."""
        if self._ledger is not None:
            self._ledger.commit()

    def _answer(
        self, reply: Reply | None, envelope: Envelope, delivery: Delivery, context: Context
    ) -> Reply | None:
        """The reply to publish now, if any; a late one is sent by its own route, a shadow's recorded.

        An answer no gateway waits for (reply passthrough off) is a late one from the start:
        Slack shows it only if it goes by the request's own route. The answer to a request
        whose HTTP response Slack ignores (an event, a block action) is not an answer at all.
        """
        awaited = envelope.reply_by is not None
        if reply is None or self._replies is ReplyMode.DISCARD or not (awaited or envelope.answer_is_shown()):
            return None
        if self._replies is ReplyMode.RECORD:
            RecordingSlack(context.log).reply(reply)
            return None
        now = utc_now()
        if awaited and delivery.reply_to is not None and in_time(envelope, now):
            metrics.REPLIES.labels(self._consumer, "in_time").inc()
            metrics.REPLY_SECONDS.labels(self._consumer).observe((now - envelope.received_at).total_seconds())
            return reply
        route = self._deliver_late(reply, envelope, context, awaited)
        metrics.REPLIES.labels(self._consumer, f"{'late' if awaited else 'not_awaited'}_{route.value}").inc()
        return None

    def _deliver_late(self, reply: Reply, envelope: Envelope, context: Context, awaited: bool) -> LateRoute:
        """Never a failure of the message: its effect happened, and running it again would repeat it."""
        fields = {"awaited": awaited}
        try:
            route = deliver_late(reply, envelope, context.slack)
        except SlackCallFailed as error:
            context.log.warning("late reply dropped: its route refused it",
                                extra={**fields, "error": str(error)[:300]})  # fmt: skip
            return LateRoute.DROPPED
        level = logging.WARNING if route is LateRoute.DROPPED else logging.INFO
        context.log.log(level, "late reply", extra={**fields, "route": route.value})
        return route


def _may_repeat(envelope: Envelope, delivery: Delivery) -> bool:
    """Whether this request may have been handled already, so the ledger must be asked.

    Slack repeats an event as a new request with the same ``event_id``, so events are always
    checked; any other request is published once, under its envelope id, and can only come
    back as a redelivery, a replay or a retry copy. A retry copy is of a failed attempt, but not
    necessarily the only copy: the original's acknowledgement may have been lost with the
    connection after the copy was parked (the original is then delivered again), and the
    retry queue's at-least-once dead-lettering may move a copy back twice.
    """
    return envelope.event_id is not None or delivery.redelivered or delivery.retries_made > 0


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _failure(error: Exception, delivery: Delivery) -> dict[str, Any]:
    """What an operator needs to judge a failure; ``retries_left`` 0 means it is dead-lettered now."""
    return {
        "error_type": type(error).__name__,
        "error": str(error)[:500],
        "retries_made": delivery.retries_made,
        "retries_left": delivery.retries_left,
    }
