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

from gateway import extensions
from gateway.errors import UNEXPECTED, GatewayError, error_document
from gateway.extensions import EnvelopePublisher, publisher_of
from gateway.http_ingress import HttpIngress
from gateway.publisher import Publisher
from gateway.replies import ReplyBreaker
from gateway.settings import GatewaySettings
from gateway.verification import RequestVerifier
from gateway.views import blueprint
from slack_fanout.settings import load_settings

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings | None = None, publisher: EnvelopePublisher | None = None) -> Flask:
    """The Flask app serving the operational endpoints, with Slack's endpoint in front of it."""
    settings = settings or load_settings(GatewaySettings)
    app = Flask(__name__)
    app.extensions[extensions.PUBLISHER] = publisher or Publisher(settings.publisher_config())
    app.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    # Flask's documented way to wrap its WSGI app in middleware, which mypy takes for replacing a method.
    app.wsgi_app = HttpIngress(  # type: ignore[method-assign]
        app.wsgi_app,
        settings,
        RequestVerifier(
            signing_secret=_reveal(settings.slack_signing_secret),
            verification_token=_reveal(settings.slack_verification_token),
            max_age_seconds=settings.signature_max_age_seconds,
        ),
        publisher_of(app),
        ReplyBreaker(),
    )
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        proxied = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
        app.wsgi_app = proxied  # type: ignore[method-assign]
    return app


def _http_error(error: HTTPException) -> tuple[Response, int]:
    """Werkzeug's own refusals (404, 405) as JSON too."""
    code = (error.name or "error").lower().replace(" ", "_")
    return jsonify(error_document(code, error.description or "")), error.code or 500


def _unexpected_error(error: Exception) -> tuple[Response, int]:
    """A bug, not a refusal: logged with its traceback, answered in the same JSON shape."""
    log.exception("unexpected error", extra={"error": type(error).__name__})
    return jsonify(error_document(GatewayError.code, UNEXPECTED)), GatewayError.status


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
