"""A stand-in for Slack's Socket Mode side: ``apps.connections.open`` and the WebSocket server, on loopback.

Like slack_sdk's and bolt-python's mock servers, but with Slack's delivery rules, so that
tests can rely on them: each envelope goes to one open connection (in turn); one not
acknowledged within ``redeliver_after`` seconds goes again, to a connection in turn, with
``retry_attempt`` counting up and ``retry_reason`` ``timeout``; every URL is good for one
connection; each connection is greeted with ``hello``. Tests send envelopes, ask connections
to ``disconnect``, and read the acknowledgements.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

APP_TOKEN = "xapp-1-A123456-1-fakeslacktoken"


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    link: int
    at: float


@dataclass
class _Pending:
    message: dict[str, Any]
    sent_at: float
    deliveries: int = 1


@dataclass
class _Link:
    number: int
    socket: ServerConnection
    closed: threading.Event = field(default_factory=threading.Event)


class FakeSlack:
    def __init__(self, redeliver_after: float = 1.0, max_deliveries: int = 20) -> None:
        self.redeliver_after = redeliver_after
        self.max_deliveries = max_deliveries
        self.urls_issued = 0
        self.acks: list[Ack] = []
        self._first_acks: dict[str, Ack] = {}
        self.deliveries: dict[str, int] = {}
        self._lock = threading.Condition()
        self._tickets: set[str] = set()
        self._links: dict[int, _Link] = {}
        self._numbers = itertools.count(1)
        self._turn = itertools.count()
        self._pending: dict[str, _Pending] = {}
        self._stopping = threading.Event()
        self._ws = serve(self._serve_link, "127.0.0.1", 0, compression=None, ping_interval=None)
        self._ws_port = self._ws.socket.getsockname()[1]
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._api_handler())
        self.api_url = f"http://127.0.0.1:{self._http.server_address[1]}/api/"
        for target in (self._ws.serve_forever, self._http.serve_forever, self._redeliver):
            threading.Thread(target=target, daemon=True).start()

    def close(self) -> None:
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._ws.shutdown()

    # What a test does ------------------------------------------------------------------

    def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False) -> str:
        """Deliver one envelope to an open connection (waiting for one); returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        message = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        if kind != "events_api":  # Slack sends the retry fields with Events API envelopes only
            del message["retry_attempt"], message["retry_reason"]
        self.wait_for_links(1)
        with self._lock:
            self._pending[envelope_id] = _Pending(message, time.monotonic())
        self._deliver(message)
        return envelope_id

    def disconnect(self, link: int, reason: str, close_after: float | None = 0.3) -> None:
        """Send ``disconnect`` on a connection, then close it as Slack does, ``close_after`` later
        (``None``: never, leaving the close to the client)."""
        with self._lock:
            target = self._links[link]
        target.socket.send(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
        )
        if close_after is not None:
            threading.Timer(close_after, target.socket.close).start()

    def drop(self, link: int) -> None:
        """End a connection's TCP stream without a WebSocket close frame, as a crashed proxy would."""
        with self._lock:
            target = self._links[link]
        target.socket.socket.shutdown(socket.SHUT_WR)

    def wait_for_links(self, count: int, timeout: float = 15, newer_than: int = 0) -> list[int]:
        """The numbers of at least ``count`` open connections numbered above ``newer_than``."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._open(newer_than)) >= count, timeout):
                raise AssertionError(f"fewer than {count} connections within {timeout} s: {self._open(0)}")
            return self._open(newer_than)

    def wait_for_ack(self, envelope_id: str, timeout: float = 15) -> Ack:
        with self._lock:
            if not self._lock.wait_for(lambda: envelope_id in self._first_acks, timeout):
                raise AssertionError(
                    f"no ack of {envelope_id} within {timeout} s after "
                    f"{self.deliveries.get(envelope_id, 0)} deliveries"
                )
            return self._first_acks[envelope_id]

    def wait_for_deliveries(self, envelope_id: str, count: int, timeout: float = 15) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: self.deliveries.get(envelope_id, 0) >= count, timeout):
                raise AssertionError(f"{envelope_id} delivered fewer than {count} times within {timeout} s")

    def acks_of(self, envelope_id: str) -> list[Ack]:
        return [ack for ack in self.acks if ack.envelope_id == envelope_id]

    def links(self) -> list[int]:
        with self._lock:
            return self._open(0)

    # Slack's side ----------------------------------------------------------------------

    def _open(self, newer_than: int) -> list[int]:
        return sorted(n for n, link in self._links.items() if n > newer_than and not link.closed.is_set())

    def _deliver(self, message: dict[str, Any]) -> None:
        with self._lock:
            open_links = [self._links[n] for n in self._open(0)]
            if not open_links:
                return  # nobody connected: the redeliverer tries again
            link = open_links[next(self._turn) % len(open_links)]
            self.deliveries[message["envelope_id"]] = self.deliveries.get(message["envelope_id"], 0) + 1
            self._lock.notify_all()
        with contextlib.suppress(ConnectionClosed):
            link.socket.send(json.dumps(message))

    def _redeliver(self) -> None:
        while not self._stopping.wait(0.05):
            now = time.monotonic()
            with self._lock:
                due = [p for p in self._pending.values() if now - p.sent_at >= self.redeliver_after]
                for pending in due:
                    pending.sent_at, pending.deliveries = now, pending.deliveries + 1
                    if pending.deliveries > self.max_deliveries:
                        del self._pending[pending.message["envelope_id"]]
            for pending in due:
                if pending.deliveries <= self.max_deliveries:
                    retried = {**pending.message, "retry_attempt": pending.deliveries - 1,
                               "retry_reason": "timeout"}  # fmt: skip
                    self._deliver(retried)

    def _serve_link(self, connection: ServerConnection) -> None:
        query = urllib.parse.urlsplit(connection.request.path if connection.request else "").query
        ticket = urllib.parse.parse_qs(query).get("ticket", [""])[0]
        with self._lock:
            if ticket not in self._tickets:
                connection.close(1008, "invalid ticket")
                return
            self._tickets.discard(ticket)
            link = _Link(next(self._numbers), connection)
            self._links[link.number] = link
            count = len(self._open(0))
            self._lock.notify_all()
        try:
            connection.send(json.dumps({"type": "hello", "num_connections": count,
                                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                                    "connection_info": {"app_id": "A123456"}}))  # fmt: skip
            for text in connection:
                self._receive(link, text)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                link.closed.set()
                self._lock.notify_all()

    def _receive(self, link: _Link, text: str | bytes) -> None:
        message = json.loads(text)
        envelope_id = message.get("envelope_id")
        with self._lock:
            ack = Ack(envelope_id, message.get("payload"), link.number, time.monotonic())
            self.acks.append(ack)
            self._first_acks.setdefault(envelope_id, ack)
            self._pending.pop(envelope_id, None)
            self._lock.notify_all()

    def _issue_url(self, authorization: str | None) -> dict[str, Any]:
        if authorization != f"Bearer {APP_TOKEN}":
            return {"ok": False, "error": "invalid_auth"}
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
            self.urls_issued += 1
        return {"ok": True, "url": f"ws://127.0.0.1:{self._ws_port}/link/?ticket={ticket}&app_id=A123456"}

    def _api_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/api/apps.connections.open":
                    answer = fake._issue_url(self.headers.get("Authorization"))
                else:
                    answer = {"ok": False, "error": "unknown_method"}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
