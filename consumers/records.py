"""One behaviour record per envelope a consumer handles: what it did in Slack, for the shadow verdict.

The dispatcher opens a handling per envelope (``begin``); once the handler has returned it
hands over the outcome (``pending``), and the runtime's worker thread waits for the request
to settle (``PendingRecord.settle``: the work the handler started is done, or
``CONSUMER_SETTLE_TIMEOUT_SECONDS`` passed) before the record is published with the
message's settlement. Everything in a record is redacted (``capture.redaction``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from consumers import metrics
from consumers.capture import correlation
from consumers.capture.redaction import redact
from slack_fanout.behaviour import Answer, BehaviourRecord, Outcome, endpoint_key
from slack_fanout.envelope import Envelope, Reply, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BehaviourRecorder:
    consumer: str
    code_version: str
    shadow: bool
    settle_timeout_s: float
    calls_captured: bool = True
    """False for ``--forward``: the app runs in another process, out of the capture's reach."""

    def begin(self, envelope: Envelope) -> correlation.Handling:
        return correlation.open_handling(envelope.id, int(envelope.received_at.timestamp()))

    def pending(
        self,
        envelope: Envelope,
        handling: correlation.Handling | None,
        outcome: Outcome,
        reply: Reply | None = None,
    ) -> PendingRecord:
        """``handling`` None: the handler did not run (a duplicate)."""
        return PendingRecord(self, envelope, handling, outcome, reply)


class PendingRecord:
    """A record waiting for its request to settle; built and encoded once, on the worker thread."""

    def __init__(
        self,
        recorder: BehaviourRecorder,
        envelope: Envelope,
        handling: correlation.Handling | None,
        outcome: Outcome,
        reply: Reply | None,
    ) -> None:
        self._recorder = recorder
        self._envelope = envelope
        self._handling = handling
        self._outcome = outcome
        self._reply = reply
        self.body: bytes | None = None
        """The encoded record once settled; None before, or when it could not be built."""

    @property
    def has_pending_work(self) -> bool:
        return self._handling is not None and self._handling.has_pending_work

    def settle(self) -> bytes | None:
        """Blocks until the request settles (bounded); never raises: a record that cannot be built is
        counted and logged, and the message is settled all the same."""
        try:
            self.body = self._build().encode()
        except Exception:
            metrics.RECORD_FAILURES.labels(self._recorder.consumer, "record").inc()
            log.warning(
                "behaviour record not built",
                exc_info=True,
                extra={"consumer": self._recorder.consumer, "envelope_id": self._envelope.id},
            )
        return self.body

    def _build(self) -> BehaviourRecord:
        recorder, envelope, handling = self._recorder, self._envelope, self._handling
        started_at = handling.started_at if handling is not None else utc_now()
        settled = handling.settle(recorder.settle_timeout_s) if handling is not None else None
        if settled is not None and not settled.settled:
            metrics.RECORDS.labels(recorder.consumer, "unsettled").inc()
        return BehaviourRecord(
            envelope_id=envelope.id,
            consumer=recorder.consumer,
            code_version=recorder.code_version,
            shadow=recorder.shadow,
            kind=envelope.kind,
            endpoint=endpoint_key(envelope),
            received_at=envelope.received_at,
            started_at=started_at,
            duration_ms=settled.duration_ms if settled else 0.0,
            settled=settled.settled if settled else True,
            outcome=self._outcome,
            answer=_redacted(handling.answer if handling is not None else None, self._reply),
            calls=settled.calls if settled else [],
            calls_captured=recorder.calls_captured,
            exceptions=settled.exceptions if settled else [],
            escapes=settled.escapes if settled else [],
            inbound=redact(envelope.payload),
        )


def _redacted(answer: Answer | None, reply: Reply | None) -> Answer | None:
    """The adapter's answer (with its status); else a handler's returned reply, which is a 200."""
    if answer is None and reply is not None:
        answer = Answer(status=200, content_type=reply.content_type,
                        body=reply.body.decode("utf-8", "replace"))  # fmt: skip
    if answer is None:
        return None
    return answer.model_copy(update={"body": redact(answer.body)})
