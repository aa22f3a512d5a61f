"""The gateway's Flask application factory.

``create_app()`` does no I/O: the broker connection is opened per gunicorn worker, after
the fork (see ``gateway.publisher``).
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from pydantic import SecretStr
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import extensions, metrics
from gateway.errors import GatewayError, PayloadTooLarge, PublishFailed
from gateway.extensions import EnvelopePublisher
from gateway.publisher import Publisher
from gateway.replies import ReplyBreaker
from gateway.settings import GatewaySettings
from gateway.verification import RequestVerifier
from gateway.views import blueprint
from slack_fanout.settings import load_settings

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings | None = None, publisher: EnvelopePublisher | None = None) -> Flask:
    settings = settings or load_settings(GatewaySettings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions[extensions.SETTINGS] = settings
    app.extensions[extensions.VERIFIER] = RequestVerifier(
        signing_secret=_reveal(settings.slack_signing_secret),
        verification_token=_reveal(settings.slack_verification_token),
        max_age_seconds=settings.signature_max_age_seconds,
    )
    app.extensions[extensions.REPLY_BREAKER] = ReplyBreaker()
    app.extensions[extensions.PUBLISHER] = publisher or Publisher(settings.publisher_config())
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        # Flask's documented way to wrap its WSGI app, which mypy takes for replacing a method.
        proxied = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
        app.wsgi_app = proxied  # type: ignore[method-assign]
    app.register_blueprint(blueprint)
    app.register_error_handler(GatewayError, _gateway_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _gateway_error(error: GatewayError) -> tuple[Response, int]:
    response = jsonify(error=error.code, message=error.message)
    if isinstance(error, PublishFailed):
        response.headers["Retry-After"] = str(extensions.current_settings().retry_after_seconds)
        metrics.PUBLISH_FAILURES.labels(error.code).inc()
        log.warning("not published", extra={"error": error.code, "reason": error.message})
    else:
        log.info("refused", extra={"error": error.code, "status": error.status})
    return response, error.status


def _http_error(error: HTTPException) -> tuple[Response, int]:
    """Werkzeug's own refusals (404, 405, 413 from MAX_CONTENT_LENGTH) as JSON too."""
    if error.code == PayloadTooLarge.status:
        return _gateway_error(
            PayloadTooLarge(f"body is larger than {extensions.current_settings().max_body_bytes} bytes")
        )
    code = (error.name or "error").lower().replace(" ", "_")
    return jsonify(error=code, message=error.description), error.code or 500


def _unexpected_error(error: Exception) -> tuple[Response, int]:
    """A bug, not a refusal: logged with its traceback (never the body), answered in the same JSON shape."""
    log.exception("unexpected error", extra={"error": type(error).__name__})
    return jsonify(error="internal_error", message="unexpected error; see the gateway's log"), 500


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
