"""``/healthz``, ``/readyz`` and ``/metrics`` of the Socket Mode ingress, as the HTTP gateway has them.

The ingress serves no HTTP of its own, so a small stdlib server in a thread answers the probes
of compose (or Kubernetes) and Prometheus's scrapes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gateway import metrics


class HealthServer:
    """``ready`` says whether an envelope would be published now (a connection open, the broker up)."""

    def __init__(self, host: str, port: int, ready: Callable[[], bool]) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler(ready))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(ready: Callable[[], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._json(200, {"status": "ok"})
            elif self.path == "/readyz":
                if ready():
                    self._json(200, {"status": "ready"})
                else:
                    self._json(503, {"status": "not ready"})
            elif self.path == "/metrics":
                body, content_type = metrics.exposition()
                self._send(200, content_type, body)
            else:
                self._json(404, {"error": "not_found"})

        def _json(self, status: int, value: dict[str, str]) -> None:
            self._send(status, "application/json", json.dumps(value).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Probes every few seconds would drown the log."""

    return Handler
