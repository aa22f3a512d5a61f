"""Publishing a request that waits for the primary's answer: the same for both ingresses.

The HTTP gateway returns the answer as Slack's HTTP response, the Socket Mode ingress in the
envelope's ack; the rules in between are one (docs/replies.md): the request is published as
always, confirmed, to every queue; it waits until its deadline, measured from its arrival; and
while the primary answers nothing, requests do not wait at all (``ReplyBreaker``).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from gateway import metrics
from gateway.publisher import EnvelopePublisher
from gateway.replies import ReplyBreaker
from gateway.settings import IngressSettings
from slack_fanout.envelope import Envelope, Reply


def publish_awaiting_reply(
    publisher: EnvelopePublisher,
    breaker: ReplyBreaker,
    envelope: Envelope,
    arrived: float,
    settings: IngressSettings,
) -> tuple[Envelope, Reply | None]:
    """Publish (raises ``PublishFailed`` as ``publish`` does); the envelope as published, and the
    answer to give Slack, or ``None`` when none came in time or it is too large.

    ``arrived`` is the request's ``time.monotonic()`` arrival. A request that does not wait is
    published with a deadline equal to its arrival, so the primary's answer, when it comes, goes
    through ``response_url``.
    """
    if not breaker.should_wait():
        envelope = envelope.model_copy(update={"reply_by": envelope.received_at})
        with metrics.IN_FLIGHT.track_inprogress(), metrics.PUBLISH_SECONDS.time():
            publisher.publish(envelope)
        metrics.REPLIES.labels("not_awaited").inc()
        return envelope, None
    deadline = settings.reply_deadline_ms / 1000
    envelope = envelope.model_copy(update={"reply_by": envelope.received_at + timedelta(seconds=deadline)})
    with metrics.IN_FLIGHT.track_inprogress():
        reply = publisher.request_reply(envelope, reply_deadline=arrived + deadline)
    breaker.record(answered=reply is not None)
    outcome = _reply_outcome(reply, settings.max_reply_bytes)
    metrics.REPLIES.labels(outcome).inc()
    if outcome != "in_time":
        return envelope, None
    metrics.REPLY_SECONDS.observe(time.monotonic() - arrived)
    return envelope, reply


def _reply_outcome(reply: Reply | None, max_bytes: int) -> str:
    if reply is None:
        return "none"
    return "too_large" if len(reply.body) > max_bytes else "in_time"


def report_published(log: logging.Logger, envelope: Envelope, arrived: float, **where: object) -> None:
    """Count one published request and log its line, the same from both ingresses; ``where`` says
    where it came from (the client's address, the Socket Mode connection)."""
    metrics.PUBLISHED.inc()
    log.info(
        "published",
        extra={
            "envelope_id": envelope.id,
            "kind": envelope.kind.value,
            "verified_by": envelope.verified_by.value,
            "slack_retry_num": envelope.retry_num,
            **where,
            "duration_ms": round((time.monotonic() - arrived) * 1000, 2),
        },
    )
