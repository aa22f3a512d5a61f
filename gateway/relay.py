"""Publishing a request that waits for the primary's answer: the same for both ingresses.

The HTTP gateway returns the answer as Slack's HTTP response, the Socket Mode ingress in the
envelope's ack; the rules in between are one (docs/replies.md): the request is published as
always, confirmed, to every queue; it waits until its deadline, measured from its arrival; and
while the primary answers nothing, requests do not wait at all (``ReplyBreaker``).
"""

from __future__ import annotations

import logging
import time

from gateway import metrics
from gateway.extensions import EnvelopePublisher
from gateway.replies import ReplyBreaker, ReplyOutcome, judge, with_deadline
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
        envelope = with_deadline(envelope, 0)
        publisher.publish(envelope)
        metrics.REPLIES.labels(ReplyOutcome.NOT_AWAITED.value).inc()
        return envelope, None
    wait = settings.reply_deadline_ms / 1000
    envelope = with_deadline(envelope, wait)
    reply = publisher.request_reply(envelope, reply_deadline=arrived + wait)
    breaker.record(answered=reply is not None)
    outcome = judge(reply, settings.max_reply_bytes)
    metrics.REPLIES.labels(outcome.value).inc()
    if outcome is not ReplyOutcome.IN_TIME:
        return envelope, None
    metrics.REPLY_SECONDS.observe(time.monotonic() - arrived)
    return envelope, reply


def report_published(log: logging.Logger, envelope: Envelope, arrived: float, **where: object) -> None:
    """Log one published request's line, the same from both ingresses; ``where`` says where it came
    from (the client's address, the Socket Mode connection)."""
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
