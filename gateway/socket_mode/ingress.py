"""The Socket Mode ingress: each envelope published, confirmed, to every queue, and only then acknowledged.

The promise is the HTTP gateway's: an ack means the envelope is safely in every bound queue.
A publish that fails is not acknowledged, so Slack sends the envelope again (to this connection
or another); the envelope's id is Slack's ``envelope_id``, the same on every redelivery, so a
consumer's ledger handles a copy that did land once. Slack waits 3 s for an ack: the confirm
timeout (2 s) and the reply deadline (2.5 s) both run from the envelope's arrival.

Several connections (``SOCKET_MODE_CONNECTIONS``, 2 by default) share one publisher; Slack
sends each envelope to one of them, so while one is refreshed the others still receive.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from slack_sdk.errors import SlackClientNotConnectedError
from slack_sdk.web import WebClient

from gateway import metrics as gateway_metrics
from gateway.errors import BadRequest, PublishFailed
from gateway.publisher import Publisher
from gateway.relay import publish_awaiting_reply, report_published
from gateway.replies import ReplyBreaker, ReplyOutcome, waits_for_reply
from gateway.socket_mode import metrics
from gateway.socket_mode.connection import IngressStopped, SocketConnection
from gateway.socket_mode.envelopes import MEDIA_TYPES, SocketRequest, UnusableReply, ack, to_envelope
from gateway.socket_mode.settings import SocketModeSettings
from slack_fanout.backoff import Backoff
from slack_fanout.envelope import Envelope, Reply

log = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0
"""Longest wait at shutdown for envelopes being published (each is bounded by its 3 s anyway)."""


class SocketIngress:
    """Thread-safe: each connection calls ``handle`` on threads of its own."""

    def __init__(self, settings: SocketModeSettings, publisher: Publisher) -> None:
        self._settings = settings
        self._publisher = publisher
        self._breaker = ReplyBreaker()
        self._stop_requested = threading.Event()
        self._draining = threading.Event()
        self._fatal: IngressStopped | None = None
        self._lock = threading.Lock()
        self._in_hand = 0
        self._settled = threading.Condition(self._lock)
        web_client = WebClient(base_url=settings.slack_api_url, timeout=10)
        token = settings.slack_app_token.get_secret_value()
        self.connections = [
            SocketConnection(
                str(number),
                token,
                web_client,
                self.handle,
                self._stop_for_good,
                ping_interval=settings.socket_mode_ping_interval_seconds,
                concurrency=settings.socket_mode_concurrency,
                backoff=Backoff(maximum=settings.socket_mode_reconnect_delay_max_seconds),
            )
            for number in range(1, settings.socket_mode_connections + 1)
        ]

    def run(self) -> None:
        """Serve until ``stop()``; raises the ``IngressStopped`` that ended it early, if one did."""
        self._publisher.start()
        for connection in self.connections:
            connection.start()
        log.info(
            "starting", extra={"connections": len(self.connections), "api_url": self._settings.slack_api_url}
        )
        while not self._stop_requested.wait(0.5):
            pass
        self._shut_down()
        if self._fatal is not None:
            raise self._fatal

    def stop(self) -> None:
        """Callable from a signal handler: ``run`` then drains and returns."""
        self._stop_requested.set()

    def ready(self) -> bool:
        """Whether an envelope would be published now: a connection greeted and the broker link up."""
        return any(connection.greeted for connection in self.connections) and self._publisher.ready()

    def handle(self, connection: SocketConnection, message: dict[str, Any], arrived: float) -> None:
        declared = message.get("type")
        kind = declared if isinstance(declared, str) and declared in MEDIA_TYPES else "other"  # few labels
        with self._lock:
            if self._draining.is_set():
                metrics.ENVELOPES.labels(kind, "shutting_down").inc()
                return  # not acknowledged: Slack sends it to another connection, or again later
            self._in_hand += 1
        try:
            self._publish_and_acknowledge(connection, message, kind, arrived)
        finally:
            with self._lock:
                self._in_hand -= 1
                self._settled.notify_all()

    def _publish_and_acknowledge(
        self, connection: SocketConnection, message: dict[str, Any], kind: str, arrived: float
    ) -> None:
        try:
            request = SocketRequest.from_message(message)
            envelope = to_envelope(request, self._settings.socket_mode_paths[request.type])
        except BadRequest as error:
            self._refuse(connection, message, kind, error)
            return
        try:
            envelope, reply = self._publish(envelope, request, arrived)
        except PublishFailed as error:
            gateway_metrics.PUBLISH_FAILURES.labels(error.code).inc()
            metrics.ENVELOPES.labels(kind, "not_published").inc()
            log.warning(
                "not published",
                extra={"envelope_id": envelope.id, "error": error.code, "reason": error.message},
            )
            return  # no ack: Slack redelivers
        report_published(log, envelope, arrived, connection=connection.name)
        self._acknowledge(connection, envelope, kind, self._ack_with(envelope, reply), arrived)

    def _publish(
        self, envelope: Envelope, request: SocketRequest, arrived: float
    ) -> tuple[Envelope, Reply | None]:
        settings = self._settings
        if (
            request.accepts_response_payload
            and settings.reply_passthrough
            and waits_for_reply(envelope, settings.reply_kinds)
        ):
            return publish_awaiting_reply(self._publisher, self._breaker, envelope, arrived, settings)
        deadline = arrived + settings.publish_timeout_seconds
        self._publisher.publish(envelope, deadline=deadline)
        return envelope, None

    def _ack_with(self, envelope: Envelope, reply: Reply | None) -> dict[str, Any]:
        try:
            return ack(envelope.id, reply)
        except UnusableReply as error:
            gateway_metrics.REPLIES.labels(ReplyOutcome.UNUSABLE.value).inc()
            log.warning("answer not returned", extra={"envelope_id": envelope.id, "reason": str(error)})
            return ack(envelope.id)

    def _acknowledge(
        self,
        connection: SocketConnection,
        envelope: Envelope,
        kind: str,
        message: dict[str, Any],
        arrived: float,
    ) -> None:
        try:
            connection.acknowledge(message)
        except SlackClientNotConnectedError:
            metrics.ENVELOPES.labels(kind, "ack_failed").inc()
            log.warning("ack not sent: connection gone", extra={"envelope_id": envelope.id})
            return
        metrics.ENVELOPES.labels(kind, "acked").inc()
        metrics.ACK_SECONDS.observe(time.monotonic() - arrived)

    def _refuse(
        self, connection: SocketConnection, message: dict[str, Any], kind: str, error: BadRequest
    ) -> None:
        """Acknowledged so that Slack stops sending it, published nowhere: no retry could make it readable."""
        metrics.ENVELOPES.labels(kind, "refused").inc()
        log.info("refused", extra={"error": error.code, "reason": error.message, "type": kind})
        envelope_id = message.get("envelope_id")
        if isinstance(envelope_id, str):
            with contextlib.suppress(SlackClientNotConnectedError):
                connection.acknowledge(ack(envelope_id))

    def _stop_for_good(self, error: IngressStopped) -> None:
        with self._lock:
            if self._fatal is None:
                self._fatal = error
        self.stop()

    def _shut_down(self) -> None:
        """Take no new envelope, let those in hand be confirmed and acknowledged, then close."""
        log.info("stopping", extra={"reason": "fatal" if self._fatal else "signal"})
        for connection in self.connections:
            connection.stop()
        give_up = time.monotonic() + DRAIN_SECONDS
        with self._lock:
            self._draining.set()
            while self._in_hand and time.monotonic() < give_up:
                self._settled.wait(give_up - time.monotonic())
            unsettled = self._in_hand
        closing = [threading.Thread(target=connection.close) for connection in self.connections]
        for thread in closing:  # each may wait for a connect under way (up to its 3 s timeout): all at once
            thread.start()
        for thread in closing:
            thread.join()
        self._publisher.close()
        log.info("stopped", extra={"unsettled": unsettled})
