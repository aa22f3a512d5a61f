"""Slack's requests: a WSGI application in front of the Flask app's own.

Every POST, at any path, is a request from Slack: a bot moved behind the gateway keeps its
Request URLs, and the path travels in the envelope, so a replaying consumer calls the same
route of the bot. Every other request (the health probes, ``/metrics``) goes on to Flask.

Why not a Flask view: Flask's per-request machinery (its contexts, routing, hooks and response
conversion) cost a gevent worker 0.2 to 0.35 ms of CPU per request, a sixth to a quarter of
all the gateway's work, measured side by side (docs/performance.md, "Gateway throughput"). The
endpoint keeps werkzeug's ``Request`` and ``Response``, the ones Flask's are built on; it is
wrapped in as Flask documents for WSGI middleware (``app.wsgi_app = ...``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway import metrics
from gateway.errors import UNEXPECTED, GatewayError, PayloadTooLarge, PublishFailed, error_document
from gateway.extensions import EnvelopePublisher
from gateway.inbound import HandshakeReply, accept
from gateway.relay import publish_awaiting_reply, report_published
from gateway.replies import ReplyBreaker, waits_for_reply
from gateway.settings import GatewaySettings
from gateway.slack_body import Handshake
from gateway.verification import RequestVerifier
from slack_fanout.envelope import Envelope

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

REFUSED = "refused"
"""The ``kind`` label of a request that was refused before its kind was known."""

DISCARDED_AT_MOST = 64 * 1024 * 1024
"""How much of a body too large to accept is read and thrown away, so that its sender gets the 413."""


class HttpIngress:
    """Answers Slack's POSTs; hands every other request to ``operations`` (the Flask app)."""

    def __init__(
        self,
        operations: WSGIApplication,
        settings: GatewaySettings,
        verifier: RequestVerifier,
        publisher: EnvelopePublisher,
        breaker: ReplyBreaker,
    ) -> None:
        self._operations = operations
        self._settings = settings
        self._verifier = verifier
        self._publisher = publisher
        self._breaker = breaker

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "POST":
            return self._operations(environ, start_response)
        return self.answer(Request(environ))(environ, start_response)

    def answer(self, request: Request) -> Response:
        """The response to one Slack request, counted by its kind and status."""
        arrived = time.monotonic()
        kind = REFUSED
        try:
            accepted = self._accept(request)
            kind = accepted.handshake.value if isinstance(accepted, HandshakeReply) else accepted.kind.value
            response = self._respond(accepted, arrived, request.remote_addr)
        except GatewayError as error:
            response = self._refusal(error)
        except Exception as error:  # a bug, not a refusal: its traceback logged, answered in the same shape
            log.exception("unexpected error", extra={"error": type(error).__name__})
            response = _json(error_document(GatewayError.code, UNEXPECTED), GatewayError.status)
        metrics.REQUESTS.labels(kind, str(response.status_code)).inc()
        return response

    def _accept(self, request: Request) -> Envelope | HandshakeReply:
        request.max_content_length = self._settings.max_body_bytes
        try:
            raw = request.get_data(cache=False)
        except RequestEntityTooLarge:
            _discard(request.environ["wsgi.input"], DISCARDED_AT_MOST)
            raise PayloadTooLarge(f"body is larger than {self._settings.max_body_bytes} bytes") from None
        headers = {name.lower(): value for name, value in request.headers.items()}
        return accept(raw, request.content_type, headers, request.path, self._verifier)

    def _respond(
        self, accepted: Envelope | HandshakeReply, arrived: float, remote_addr: str | None
    ) -> Response:
        if isinstance(accepted, HandshakeReply):
            if accepted.handshake is Handshake.URL_VERIFICATION:
                return _json({"challenge": accepted.challenge}, 200)
            return Response(b"", 200)
        if self._settings.reply_passthrough and waits_for_reply(accepted, self._settings.reply_kinds):
            published, reply = publish_awaiting_reply(
                self._publisher, self._breaker, accepted, arrived, self._settings
            )
            report_published(log, published, arrived, remote_addr=remote_addr)
            if reply is None:
                return Response(b"", 200)
            return Response(reply.body, 200, content_type=reply.content_type)
        self._publisher.publish(accepted)
        report_published(log, accepted, arrived, remote_addr=remote_addr)
        return Response(b"", 200)

    def _refusal(self, error: GatewayError) -> Response:
        response = _json(error_document(error.code, error.message), error.status)
        if isinstance(error, PublishFailed):
            response.headers["Retry-After"] = str(self._settings.retry_after_seconds)
            metrics.PUBLISH_FAILURES.labels(error.code).inc()
            log.warning("not published", extra={"error": error.code, "reason": error.message})
        else:
            log.info("refused", extra={"error": error.code, "status": error.status})
        return response


def _json(document: Mapping[str, object], status: int) -> Response:
    return Response(json.dumps(document), status, mimetype="application/json")


def _discard(body: IO[bytes], at_most: int) -> None:
    """Read what the client is still sending. gunicorn closes a connection its client asked to close
    once answered; with unread bytes in it, the kernel resets it, and the client sees a broken pipe
    instead of the 413. Beyond ``at_most``, it may."""
    while at_most > 0:
        chunk = body.read(min(at_most, 64 * 1024))
        if not chunk:
            return
        at_most -= len(chunk)
