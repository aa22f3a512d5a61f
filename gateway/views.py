"""The gateway's HTTP endpoints: Slack's inbound requests and the health probes."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, g, jsonify, request

from gateway import metrics
from gateway.inbound import HandshakeReply, accept
from gateway.publisher import EnvelopePublisher
from gateway.slack_body import Handshake
from gateway.verification import RequestVerifier

log = logging.getLogger(__name__)
blueprint = Blueprint("gateway", __name__)


@blueprint.post("/")
@blueprint.post("/slack/events")
def inbound() -> Response | tuple[str, int]:
    """Any Slack request; ``/`` too, so an outgoing webhook aimed at a mirror can point here unchanged."""
    started = time.perf_counter()
    headers = {name.lower(): value for name, value in request.headers.items()}
    result = accept(request.get_data(cache=False), request.content_type, headers, request.path, _verifier())
    if isinstance(result, HandshakeReply):
        g.kind = result.handshake.value
        return _answer_handshake(result)
    g.kind = result.kind.value
    with metrics.IN_FLIGHT.track_inprogress(), metrics.PUBLISH_SECONDS.time():
        _publisher().publish(result)
    metrics.PUBLISHED.inc()
    log.info(
        "published",
        extra={
            "envelope_id": result.id,
            "kind": result.kind.value,
            "verified_by": result.verified_by.value,
            "slack_retry_num": result.retry_num,
            "remote_addr": request.remote_addr,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return "", 200


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
    if _publisher().ready():
        return jsonify(status="ready", broker="ok"), 200
    return jsonify(status="not ready", broker="unreachable"), 503


def _answer_handshake(reply: HandshakeReply) -> Response | tuple[str, int]:
    if reply.handshake is Handshake.URL_VERIFICATION:
        return jsonify(challenge=reply.challenge)
    return "", 200


def _verifier() -> RequestVerifier:
    return current_app.extensions["slack_fanout.verifier"]


def _publisher() -> EnvelopePublisher:
    return current_app.extensions["slack_fanout.publisher"]
