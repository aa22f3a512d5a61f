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
from consumers.context import Context
from consumers.dedupe import Ledger, identity
from consumers.handlers import Handler
from consumers.slack_actions import SideEffects
from slack_fanout.envelope import DecodeError, Envelope
from slack_fanout.logs import BoundLogger
from slack_fanout.topology import DELIVERY_LIMIT

log = logging.getLogger(__name__)
_handler_log = logging.getLogger("consumers.handler")


class Outcome(Enum):
    ACK = "ack"
    """Handled: remove it from the queue."""
    RETRY = "retry"
    """The handler failed: the broker delivers it again, dead-lettering it past the delivery limit."""
    DEAD_LETTER = "dead_letter"
    """It can never be handled (not an envelope): straight to ``slack.<name>.dead``."""


@dataclass(frozen=True)
class Delivery:
    body: bytes
    delivery_count: int = 0
    """Retries this consumer already made of the message (header ``x-slack-fanout-retries``)."""


class Dispatcher:
    """Hands each delivery to the handler with a fresh context, and logs what became of it."""

    def __init__(
        self, consumer: str, handler: Handler, side_effects: SideEffects, ledger: Ledger | None = None
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._side_effects = side_effects
        self._ledger = ledger

    def process(self, delivery: Delivery) -> Outcome:
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
            metrics.MESSAGES.labels(self._consumer, "not_an_envelope").inc()
            return Outcome.DEAD_LETTER
        fields.update(envelope_id=envelope.id, kind=envelope.kind.value)
        request = identity(envelope)
        if self._ledger is not None and self._ledger.seen(request):
            log.info("duplicate skipped: already handled", extra={**fields, "request": request})
            metrics.MESSAGES.labels(self._consumer, "duplicate").inc()
            return Outcome.ACK
        message_log = BoundLogger(_handler_log, {"consumer": self._consumer, "envelope_id": envelope.id})
        context = Context(self._consumer, envelope, message_log, self._side_effects(message_log))
        try:
            with metrics.HANDLER_SECONDS.labels(self._consumer).time():
                self._handler(envelope, context)
        except Exception as error:
            log.warning("handler failed", exc_info=True, extra={**fields, **_failure(error, delivery)})
            metrics.MESSAGES.labels(self._consumer, "failed").inc()
            return Outcome.RETRY
        if self._ledger is not None:
            self._ledger.record(request)
        metrics.MESSAGES.labels(self._consumer, "handled").inc()
        log.info("handled", extra={**fields, "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
        return Outcome.ACK


def _failure(error: Exception, delivery: Delivery) -> dict[str, Any]:
    """What an operator needs to judge a failure; ``retries_left`` 0 means the broker now dead-letters it."""
    return {
        "error_type": type(error).__name__,
        "error": str(error)[:500],
        "delivery_count": delivery.delivery_count,
        "retries_left": max(DELIVERY_LIMIT - delivery.delivery_count, 0),
    }
