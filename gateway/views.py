"""The gateway's HTTP endpoints: Slack's inbound requests and the health probes."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, g, jsonify, request

from gateway import metrics
from gateway.extensions import current_publisher, current_reply_breaker, current_settings, current_verifier
from gateway.inbound import HandshakeReply, accept
from gateway.relay import publish_awaiting_reply, report_published
from gateway.replies import waits_for_reply
from gateway.settings import GatewaySettings
from gateway.slack_body import Handshake
from slack_fanout.envelope import Envelope

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
    current_publisher().publish(envelope)
    report_published(log, envelope, arrived, remote_addr=request.remote_addr)


def _publish_and_relay_reply(envelope: Envelope, arrived: float, settings: GatewaySettings) -> Response:
    """Publish as always, then answer Slack with the consumer's reply if it comes before the deadline."""
    published, reply = publish_awaiting_reply(
        current_publisher(), current_reply_breaker(), envelope, arrived, settings
    )
    report_published(log, published, arrived, remote_addr=request.remote_addr)
    if reply is None:
        return Response(b"", status=200)
    return Response(reply.body, status=200, content_type=reply.content_type)


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
