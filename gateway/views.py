"""The gateway's HTTP endpoints: Slack's inbound requests and the health probes."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import Blueprint, Response, g, jsonify, request

from gateway import metrics
from gateway.extensions import current_publisher, current_reply_breaker, current_settings, current_verifier
from gateway.inbound import HandshakeReply, accept
from gateway.replies import waits_for_reply
from gateway.settings import GatewaySettings
from gateway.slack_body import Handshake
from slack_fanout.envelope import Envelope, Reply

log = logging.getLogger(__name__)
blueprint = Blueprint("gateway", __name__)


@blueprint.post("/")
@blueprint.post("/<path:_path>")
def inbound(_path: str = "") -> Response | tuple[str, int]:
    """Any Slack request, at any path: a bot moved behind the gateway keeps its Request URLs, and
    the path travels in the envelope, so a replaying consumer calls the same route of the bot."""
    arrived = time.monotonic()
    headers = {name.lower(): value for name, value in request.headers.items()}
    result = accept(
        request.get_data(cache=False), request.content_type, headers, request.path, current_verifier()
    )
    if isinstance(result, HandshakeReply):
        g.kind = result.handshake.value
        return _answer_handshake(result)
    g.kind = result.kind.value
    settings = current_settings()
    if settings.reply_passthrough and waits_for_reply(result, settings.reply_kinds):
        return _publish_and_relay_reply(result, arrived, settings)
    _publish(result, arrived)
    return "", 200


def _publish(envelope: Envelope, arrived: float) -> None:
    with metrics.IN_FLIGHT.track_inprogress(), metrics.PUBLISH_SECONDS.time():
        current_publisher().publish(envelope)
    _log_published(envelope, arrived)


def _publish_and_relay_reply(envelope: Envelope, arrived: float, settings: GatewaySettings) -> Response:
    """Publish as always, then answer Slack with the consumer's reply if it comes before the deadline.

    While the primary answers nothing, the request does not wait: its deadline is its arrival,
    so the primary's answer, when it comes, goes through ``response_url`` (docs/replies.md).
    """
    breaker = current_reply_breaker()
    if not breaker.should_wait():
        _publish(envelope.model_copy(update={"reply_by": envelope.received_at}), arrived)
        metrics.REPLIES.labels("not_awaited").inc()
        return Response(b"", status=200)
    deadline = settings.reply_deadline_ms / 1000
    envelope = envelope.model_copy(update={"reply_by": envelope.received_at + timedelta(seconds=deadline)})
    with metrics.IN_FLIGHT.track_inprogress():
        reply = current_publisher().request_reply(envelope, reply_deadline=arrived + deadline)
    _log_published(envelope, arrived)
    breaker.record(answered=reply is not None)
    outcome = _reply_outcome(reply, settings.max_reply_bytes)
    metrics.REPLIES.labels(outcome).inc()
    if outcome != "in_time" or reply is None:
        return Response(b"", status=200)
    metrics.REPLY_SECONDS.observe(time.monotonic() - arrived)
    return Response(reply.body, status=200, content_type=reply.content_type)


def _reply_outcome(reply: Reply | None, max_bytes: int) -> str:
    if reply is None:
        return "none"
    return "too_large" if len(reply.body) > max_bytes else "in_time"


def _log_published(envelope: Envelope, arrived: float) -> None:
    metrics.PUBLISHED.inc()
    log.info(
        "published",
        extra={
            "envelope_id": envelope.id,
            "kind": envelope.kind.value,
            "verified_by": envelope.verified_by.value,
            "slack_retry_num": envelope.retry_num,
            "remote_addr": request.remote_addr,
            "duration_ms": round((time.monotonic() - arrived) * 1000, 2),
        },
    )


@blueprint.after_app_request
def count_slack_request(response: Response) -> Response:
    if request.endpoint == "gateway.inbound":
        metrics.REQUESTS.labels(g.get("kind", "refused"), str(response.status_code)).inc()
    return response


@blueprint.get("/metrics")
def prometheus_metrics() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process answers: restart it if not."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Whether a request would be published now: take this gateway out of rotation if not."""
    if current_publisher().ready():
        return jsonify(status="ready", broker="ok"), 200
    return jsonify(status="not ready", broker="unreachable"), 503


def _answer_handshake(reply: HandshakeReply) -> Response | tuple[str, int]:
    if reply.handshake is Handshake.URL_VERIFICATION:
        return jsonify(challenge=reply.challenge)
    return "", 200
