"""The gateway's operational endpoints: the health probes and the metrics.

Slack's own requests never reach Flask: ``gateway.http_ingress`` answers every POST first.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from gateway import metrics
from gateway.extensions import current_publisher

blueprint = Blueprint("gateway", __name__)


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
