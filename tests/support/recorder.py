"""A stand-in for Slack's side of the wire: a local HTTP server that records every POST.

Point a consumer's ``SLACK_API_URL`` (or ``CONSUMER_SLACK_BASE_URL``, which retargets every
captured call) and the ``response_url`` of test requests at it, then assert on what the
consumer sent, and on what a shadow did not send. Web API methods get Slack-like answers of
their own (``auth.test`` a bot identity, ``chat.postMessage`` a ``ts`` from the clock,
``views.open`` a view id), different from a shadow's fakes, as Slack's would be; anything
else gets ``{"ok": true}``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testbed.waiting import eventually


@dataclass(frozen=True)
class RecordedCall:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def arguments(self) -> dict[str, Any]:
        """A Web API call's arguments, JSON or form-encoded."""
        try:
            if self.headers.get("Content-Type", "").startswith("application/json"):
                return self.json()
            return dict(urllib.parse.parse_qsl(self.body.decode()))
        except ValueError:  # a multipart upload
            return {}


BOT_IDENTITY = {"ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "deploybot",
                "team_id": "T0001", "user_id": "U0BOT", "bot_id": "B0BOT"}  # fmt: skip


def slack_like_answer(method: str, arguments: dict[str, Any], serial: int) -> dict[str, Any]:
    """What Slack answers a few methods with, in the shape that matters to an app."""
    ts = f"{int(time.time())}.{serial:06d}"
    if method == "auth.test":
        return BOT_IDENTITY
    if method == "chat.postMessage":
        channel = arguments.get("channel", "")
        message = {"type": "message", "text": arguments.get("text", ""), "user": "U0BOT", "ts": ts}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}
    if method == "conversations.list":  # two pages, as a client that paginates sees them
        second = arguments.get("cursor") == "page-2"
        return {"ok": True, "channels": [{"id": "C2" if second else "C1"}],
                "response_metadata": {"next_cursor": "" if second else "page-2"}}  # fmt: skip
    if method in ("views.open", "views.push", "views.update"):
        return {"ok": True, "view": {"id": f"V{serial:08d}", "hash": ts}}
    return {"ok": True}


class SlackRecorder:
    """Answers like Slack (``{"ok": true}``) and keeps every call, in order."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls_to(self, path: str) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self.calls if call.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 10) -> list[RecordedCall]:
        """The calls to ``path`` once there are ``count`` of them."""

        def enough() -> list[RecordedCall]:
            calls = self.calls_to(path)
            return calls if len(calls) >= count else []

        return eventually(enough, f"{count} call(s) to {path}", timeout)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                call = RecordedCall(self.path, dict(self.headers), body)
                with recorder._lock:
                    recorder.calls.append(call)
                    serial = next(recorder._serial)
                reply = b'{"ok": true}'
                if self.path.startswith("/api/"):
                    answer = slack_like_answer(self.path.removeprefix("/api/"), call.arguments(), serial)
                    reply = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
