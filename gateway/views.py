"""The gateway's HTTP endpoints: Slack's inbound requests and the health probes."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, jsonify, request

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
        return _answer_handshake(result)
    _publisher().publish(result)
    log.info(
        "published",
        extra={
            "envelope_id": result.id,
            "kind": result.kind.value,
            "verified_by": result.verified_by.value,
            "slack_retry_num": result.retry_num,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return "", 200


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
