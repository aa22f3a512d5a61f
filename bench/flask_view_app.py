"""Slack's endpoint as a Flask view, as before the capacity work, for two rows of ``bench.gateway_bench``.

The same ``HttpIngress.answer`` as shipped, called from a Flask route instead of in front of
Flask, so the two differ only in the per-request machinery Flask adds (contexts, routing, hooks,
response conversion).
"""

from flask import Flask, request
from werkzeug.wrappers import Response

from gateway.app import create_app
from gateway.http_ingress import HttpIngress


def create_flask_view_app() -> Flask:
    app = create_app()
    ingress = app.wsgi_app
    assert isinstance(ingress, HttpIngress), "the benchmark sets no trusted proxies"
    del app.wsgi_app  # Flask's own WSGI app again, without the ingress in front of it

    @app.post("/")
    @app.post("/<path:_path>")
    def inbound(_path: str = "") -> Response:
        return ingress.answer(request)

    return app
