"""One Socket Mode connection: slack_sdk's built-in client, with our policy for its lifecycle.

slack_sdk's stdlib client (``slack_sdk.socket_mode.builtin``) does the WebSocket work: the
handshake, frames, answering Slack's pings, pinging Slack and dropping a connection whose pongs
stopped (four ping intervals), and, on a ``disconnect`` message, opening a new connection to a
fresh URL before closing the old one. Three things it does not do the way a gateway must, and
this class changes, through the client's own hooks:

* ``link_disabled`` means the app's Socket Mode was turned off: reconnecting cannot help, so the
  process stops with its own exit code instead (``enqueue_message`` sees every message first).
* A connection that dies or never opens is opened again with exponential backoff, by a
  supervisor thread of ours (the client's own reconnect is off); a fresh URL each time, since
  each is good for one connection only. After ``too_many_websockets`` it waits the longest
  delay, rather than take a connection back at once from the app's other processes.
* An app token Slack refuses stops the process: no retry can cure it.
* A peer that closes the TCP connection without a WebSocket close frame (a crashed proxy or
  load balancer) is seen at once: the client would read the end of the stream as "no data
  yet", spin on it (a quarter of a core, measured) and notice only when its pings time out,
  32 s later at the default interval. ``connect`` hands it a socket that reports the end of
  the stream as the connection reset it is.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.web import WebClient

from gateway.socket_mode import metrics
from slack_fanout.backoff import Backoff
from slack_fanout.exit_codes import ExitCode

log = logging.getLogger(__name__)

REFUSED_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
     "not_allowed_token_type", "missing_scope"}
)  # fmt: skip
"""apps.connections.open errors that no retry cures."""

SUPERVISE_INTERVAL = 0.2
RECEIVE_BUFFER_BYTES = 64 * 1024
"""The client reads frames in chunks of this size, one recursion per chunk: 1 KiB (its default)
would overflow the stack on a large interactive payload."""

MessageHandler = Callable[["SocketConnection", dict[str, Any], float], None]
"""Called with the connection, the message and its arrival (``time.monotonic()``)."""


class _Received(str):
    """A message as read from the socket, with the instant it arrived: Slack's 3 s run from there,
    not from when a thread of the client's pool gets to it."""

    arrived: float


class IngressStopped(Exception):
    """The ingress cannot go on; ``exit_code`` says why to whoever started it."""

    exit_code: int = ExitCode.UNREACHABLE


class LinkDisabled(IngressStopped):
    """Slack disabled this app's Socket Mode link (``disconnect`` with ``link_disabled``)."""

    exit_code = ExitCode.LINK_DISABLED


class AppTokenRefused(IngressStopped):
    """apps.connections.open refuses the app-level token."""

    exit_code = ExitCode.LOGIN_REFUSED


class _EndOfStreamIsReset:
    """A socket whose ``recv`` raises at the end of the stream instead of returning ``b""``."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def recv(self, size: int) -> bytes:
        data: bytes = self._sock.recv(size)
        if not data and size:
            raise ConnectionResetError(errno.ECONNRESET, "the peer closed the connection")
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def disconnect_reason(raw_message: str) -> str | None:
    """The reason of a ``disconnect`` message; ``None`` for any other message."""
    if '"disconnect"' not in raw_message:  # most messages are envelopes: skip the second parse
        return None
    try:
        message = json.loads(raw_message)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("type") != "disconnect":
        return None
    reason = message.get("reason")
    return reason if isinstance(reason, str) else "unknown"


class SocketConnection(SocketModeClient):
    """A connection that stays open until ``close()``; each message goes to ``on_message``, on one of
    ``concurrency`` threads. ``on_fatal`` is called once with the ``IngressStopped`` that ends it."""

    def __init__(
        self,
        name: str,
        app_token: str,
        web_client: WebClient,
        on_message: MessageHandler,
        on_fatal: Callable[[IngressStopped], None],
        *,
        ping_interval: float,
        concurrency: int,
        backoff: Backoff,
    ) -> None:
        super().__init__(
            app_token,
            logger=logging.getLogger("slack_sdk.socket_mode"),
            web_client=web_client,
            auto_reconnect_enabled=False,
            ping_interval=ping_interval,
            concurrency=concurrency,
            receive_buffer_size=RECEIVE_BUFFER_BYTES,
        )
        self.name = name
        self._on_fatal = on_fatal
        self._backoff = backoff
        self._stopping = threading.Event()
        self._lifecycle = threading.Lock()
        self._greeted = False
        self._ever_connected = False
        self._reconnect_reason = "lost"
        self._crowded = False
        self._handle_message = on_message
        self.message_listeners.append(self._dispatch)
        self._supervisor = threading.Thread(target=self._keep_connected, name=f"socket-{name}", daemon=True)

    # Ours ----------------------------------------------------------------------------

    def start(self) -> None:
        self._supervisor.start()

    @property
    def greeted(self) -> bool:
        """Open, and Slack said hello on it: envelopes can come."""
        return self._greeted and self.is_connected()

    def acknowledge(self, ack: dict[str, Any]) -> None:
        """Raises ``SlackClientNotConnectedError`` when no connection is open to send it on."""
        self.send_socket_mode_response(ack)

    def stop(self) -> None:
        """Stop reconnecting (the connection stays open until ``close``, so pending acks go out)."""
        self._stopping.set()

    def close(self) -> None:
        self.stop()
        with self._lifecycle:  # after a connect under way: else its new session would outlive the close
            self._stop_receiving()
            self.message_queue.put(None)  # else the message thread waits out its 1 s queue timeout
            super().close()
        self._set_greeted(False)

    def _stop_receiving(self) -> None:
        """End the receiving thread before ``close`` joins it.

        Each time that thread starts on a session it sets ``terminated`` back to False, so a
        session that began just after one wake-up would keep it receiving for ever, and ``close``
        waiting for it (seen after ``link_disabled``). So no further session is started, and the
        current one is ended until the thread has returned. Each wake-up also shuts the socket,
        else the thread waits out its 3 s socket timeout first.
        """
        runner = self.current_session_runner
        runner.event.set()
        while runner.is_alive():
            self.current_session_state.terminated = True
            session = self.current_session
            if session is not None and session.sock is not None:
                with contextlib.suppress(OSError):
                    session.sock.shutdown(socket.SHUT_RDWR)
            runner.thread.join(0.1)

    def _keep_connected(self) -> None:
        while not self._stopping.is_set():
            if self.is_connected():
                self._stopping.wait(SUPERVISE_INTERVAL)
                continue
            if self._greeted:
                log.warning("socket lost", extra={"connection": self.name, "session_id": self.session_id()})
            self._set_greeted(False)
            if self._crowded:  # the app has as many connections as Slack allows: leave room to the others
                self._crowded = False
                self._stopping.wait(self._backoff.longest)
            self.connect_to_new_endpoint()
            if not self.is_connected():
                self._stopping.wait(self._backoff.delay())

    def _set_greeted(self, greeted: bool) -> None:
        if greeted != self._greeted:
            self._greeted = greeted
            if greeted:
                metrics.CONNECTIONS.inc()
            else:
                metrics.CONNECTIONS.dec()

    def _greet(self, message: dict[str, Any]) -> None:
        self._set_greeted(True)
        self._backoff.reset()
        log.info(
            "socket connected",
            extra={"connection": self.name, "session_id": self.session_id(),
                   "num_connections": message.get("num_connections")},
        )  # fmt: skip

    def _dispatch(self, _client: object, message: dict[str, Any], raw: str | None) -> None:
        if message.get("type") == "hello":
            self._greet(message)
        else:
            self._handle_message(self, message, getattr(raw, "arrived", time.monotonic()))

    def _stop_for_good(self, error: IngressStopped) -> None:
        self.stop()
        self._on_fatal(error)

    # The client's hooks --------------------------------------------------------------

    def connect(self) -> None:
        super().connect()
        session = self.current_session
        if session is not None and session.sock is not None:
            session.sock = _EndOfStreamIsReset(session.sock)  # type: ignore[assignment]  # a stand-in

    def enqueue_message(self, message: str) -> None:
        """Every message the connection receives, in order, before any thread handles it."""
        reason = disconnect_reason(message)
        if reason is None:
            received = _Received(message)
            received.arrived = time.monotonic()
            super().enqueue_message(received)
            return
        log.info("slack asked to disconnect", extra={"connection": self.name, "reason": reason})
        self._reconnect_reason = reason
        if reason == "link_disabled":
            self._stop_for_good(
                LinkDisabled("Slack disabled this app's Socket Mode connections (link_disabled)")
            )
        elif reason == "too_many_websockets":
            self._crowded = True  # Slack closes this connection; the supervisor waits, then opens one
        else:
            super().enqueue_message(message)  # the client opens a new connection, then closes this one

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        """Open a new connection to a fresh URL, then close the old one (the client's own ``connect``)."""
        if not self._lifecycle.acquire(blocking=False):
            return  # a connect is under way already, or the connection is closing
        try:
            if not self._stopping.is_set():
                self._connect_to_new_endpoint(force)
        finally:
            self._lifecycle.release()

    def _connect_to_new_endpoint(self, force: bool) -> None:
        reason, self._reconnect_reason = self._reconnect_reason, "lost"
        try:
            super().connect_to_new_endpoint(force=force)
        except SlackApiError as error:
            code = str(error.response.get("error", "unknown"))
            if code in REFUSED_TOKEN_ERRORS:
                self._stop_for_good(AppTokenRefused(f"apps.connections.open refused the app token: {code}"))
            else:
                log.warning("cannot open a socket", extra={"connection": self.name, "error": code})
            return
        except (SlackClientError, OSError) as error:
            failure = type(error).__name__
            log.warning("cannot open a socket", extra={"connection": self.name, "error": failure})
            return
        if not self.is_connected():
            log.warning("cannot open a socket", extra={"connection": self.name, "error": "handshake failed"})
            return
        if self._ever_connected:
            metrics.RECONNECTS.labels(reason).inc()
        self._ever_connected = True
