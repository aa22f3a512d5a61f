"""Publishing envelopes to the fanout exchange, each one confirmed by the broker.

``publish`` returns only once RabbitMQ has confirmed the persistent message, which it does
after routing it to every bound queue; any other outcome raises a ``PublishFailed``, answered
with 503 so that Slack retries. One ``Publisher`` per gunicorn worker: an I/O thread owns the
connection and pipelines the publishes of all request threads, each waiting for its own
confirm. Why, and how it fails over between nodes: docs/architecture.md, "The gateway's publisher".
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import pika
from pika.channel import Channel
from pika.exceptions import AMQPError, ChannelClosedByBroker
from pika.frame import Method
from pika.spec import NOT_FOUND

from gateway import metrics
from gateway.confirms import ConfirmTracker, PendingConfirm
from gateway.errors import BrokerUnreachable
from gateway.link import Link, LinkState
from gateway.outbox import Outbox
from gateway.replies import ReplyRegistry
from slack_fanout.amqp import envelope_properties
from slack_fanout.backoff import Backoff
from slack_fanout.batching_connection import BatchingConnection
from slack_fanout.envelope import Envelope, Reply
from slack_fanout.failover import NodeRotation, node_address
from slack_fanout.topology import DIRECT_REPLY_TO, INBOUND_EXCHANGE

log = logging.getLogger(__name__)

EXCHANGE_MISSING = f"the exchange {INBOUND_EXCHANGE} does not exist: create it with `slack-fanout apply`"


@dataclass(frozen=True)
class PublisherConfig:
    amqp_urls: tuple[str, ...]
    """One per node: tried in turn (``slack_fanout.failover``)."""
    confirm_timeout: float = 2.0
    max_in_flight: int = 1000
    reconnect_delay_min: float = 0.1
    reconnect_delay_max: float = 5.0


class Publisher:
    """Thread-safe: any request thread may call ``publish``; one I/O thread talks to RabbitMQ."""

    def __init__(self, config: PublisherConfig) -> None:
        self._config = config
        self._link = Link()
        self._start_lock = threading.Lock()
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._outbox = Outbox(config.max_in_flight)
        self._closing = threading.Event()
        self._connection: BatchingConnection | None = None
        self._channel: Channel | None = None
        self._tracker = ConfirmTracker()
        self._nodes = NodeRotation(config.amqp_urls)
        self._backoff = Backoff(config.reconnect_delay_min, config.reconnect_delay_max)
        self._reached_ready = False
        self._replies = ReplyRegistry()

    # Request threads ---------------------------------------------------------------

    def publish(self, envelope: Envelope, deadline: float | None = None) -> None:
        """Return once the broker confirmed; raise ``PublishFailed`` otherwise, by ``deadline`` at the latest.

        ``deadline`` is a ``time.monotonic()`` instant; by default, the confirm timeout from now.
        """
        if deadline is None:
            deadline = time.monotonic() + self._config.confirm_timeout
        with metrics.IN_FLIGHT.track_inprogress(), metrics.PUBLISH_SECONDS.time():
            self._publish(envelope, deadline)
        metrics.PUBLISHED.inc()

    def _publish(self, envelope: Envelope, deadline: float) -> None:
        self._start_if_needed()
        self._link.raise_unless_usable(deadline)
        pending = PendingConfirm(envelope.id)
        wake_io_thread = self._outbox.put((pending, envelope.encode(), envelope_properties(envelope)))
        try:
            connection = self._connection  # read after the put: the link was up, so this is its connection
            if wake_io_thread and connection is not None:
                connection.ioloop.add_callback_threadsafe(self._drain_outbox)
            pending.wait(deadline - time.monotonic())
        finally:
            self._outbox.done()

    def request_reply(self, envelope: Envelope, reply_deadline: float) -> Reply | None:
        """Publish (confirmed, as ``publish``), then wait until ``reply_deadline`` for a consumer's answer.

        The envelope must have ``reply_by`` set, so that it carries the reply-to address.
        Returns ``None`` when no answer came in time; raises ``PublishFailed`` as ``publish`` does.
        """
        waiter = self._replies.expect(envelope.id)
        try:
            self.publish(
                envelope, deadline=min(time.monotonic() + self._config.confirm_timeout, reply_deadline)
            )
            return waiter.wait(reply_deadline - time.monotonic())
        finally:
            self._replies.forget(envelope.id)

    def ready(self) -> bool:
        """Whether a publish would be attempted now (connected, channel open, not blocked by an alarm)."""
        self._start_if_needed()
        return self._link.usable(time.monotonic() + self._config.confirm_timeout)

    def start(self) -> None:
        """Connect now (gunicorn calls this after the fork); otherwise the first publish does."""
        self._start_if_needed()

    def close(self, timeout: float = 5.0) -> None:
        """Stop taking publishes, let those in flight be confirmed, then close the connection."""
        if self._thread is None or self._pid != os.getpid():
            return
        self._link.close()
        give_up = time.monotonic() + timeout
        while self._outbox.in_flight and time.monotonic() < give_up:
            time.sleep(0.01)
        self._closing.set()
        connection = self._connection
        if connection is not None:
            connection.ioloop.add_callback_threadsafe(self._close_connection)
        self._thread.join(max(give_up - time.monotonic(), 0.5))

    def _start_if_needed(self) -> None:
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            # First use, or first use since a fork: the parent's thread and socket are not ours.
            self._pid = os.getpid()
            self._link = Link()
            self._thread = threading.Thread(target=self._run, name="amqp-publisher", daemon=True)
            self._thread.start()

    # I/O thread --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._closing.is_set():
            connection = self._connect()
            connection.ioloop.start()  # returns once the connection has closed or failed to open
            if self._closing.is_set():
                break
            if self._reached_ready:
                self._nodes.connected()
                self._backoff.reset()
            failed = node_address(self._nodes.current())
            if not self._nodes.move_on():
                upcoming = node_address(self._nodes.current())
                log.warning("trying the next broker node", extra={"failed": failed, "next": upcoming})
                continue
            delay = self._backoff.delay()
            log.warning("reconnecting to broker", extra={"retry_in_s": round(delay, 2)})
            self._closing.wait(delay)
        log.info("publisher stopped")

    def _connect(self) -> pika.SelectConnection:
        parameters = pika.URLParameters(self._nodes.current())
        parameters.connection_attempts = 1
        parameters.socket_timeout = parameters.stack_timeout = self._config.confirm_timeout
        # An alarm blocks publishers indefinitely; past this, drop the connection and start over.
        parameters.blocked_connection_timeout = 60
        parameters.client_properties = {"connection_name": f"slack-fanout gateway {os.getpid()}"}
        self._link.set(LinkState.CONNECTING)
        self._reached_ready = False
        self._connection = BatchingConnection(
            parameters,
            on_open_callback=self._on_connection_open,
            on_open_error_callback=self._on_connection_failed,
            on_close_callback=self._on_connection_closed,
        )
        return self._connection

    def _on_connection_open(self, connection: pika.SelectConnection) -> None:
        connection.add_on_connection_blocked_callback(self._on_blocked)
        connection.add_on_connection_unblocked_callback(self._on_unblocked)
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel: Channel) -> None:
        """Check the exchange passively: the gateway's broker user may publish to it, not declare it."""
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        channel.exchange_declare(INBOUND_EXCHANGE, passive=True, callback=self._on_exchange_found)

    def _on_exchange_found(self, _frame: Method) -> None:
        assert self._channel is not None
        self._tracker = ConfirmTracker()
        self._channel.confirm_delivery(self._on_confirm, callback=self._on_confirm_mode)

    def _on_confirm_mode(self, _frame: Method) -> None:
        assert self._channel is not None
        # Direct reply-to: replies to this channel's publishes come straight back to it.
        self._channel.basic_consume(
            DIRECT_REPLY_TO, self._on_reply, auto_ack=True, callback=self._on_link_ready
        )

    def _on_link_ready(self, _frame: Method) -> None:
        self._reached_ready = True
        self._outbox.open()
        self._link.set(LinkState.READY)
        node = node_address(self._nodes.current())
        log.info("connected to broker", extra={"exchange": INBOUND_EXCHANGE, "node": node})

    def _drain_outbox(self) -> None:
        assert self._connection is not None
        with self._connection.batched():
            for pending, body, properties in self._outbox.drain():
                self._send(pending, body, properties)

    def _send(self, pending: PendingConfirm, body: bytes, properties: pika.BasicProperties) -> None:
        channel = self._channel
        if channel is None or not channel.is_open:
            pending.resolve(BrokerUnreachable("the broker connection closed"))
            return
        try:
            # mandatory: a message no queue takes comes back as an error instead of vanishing.
            channel.basic_publish(INBOUND_EXCHANGE, "", body, properties, mandatory=True)
        except AMQPError as error:
            pending.resolve(BrokerUnreachable(f"publish failed: {type(error).__name__}"))
            return
        self._tracker.published(pending)

    def _on_confirm(self, frame: Method) -> None:
        method = frame.method
        if isinstance(method, pika.spec.Basic.Ack):
            self._tracker.acked(method.delivery_tag, method.multiple)
        else:
            self._tracker.nacked(method.delivery_tag, method.multiple)
            log.warning("broker nacked a publish", extra={"delivery_tag": method.delivery_tag})

    def _on_return(
        self, _channel: Channel, _method: object, properties: pika.BasicProperties, _body: bytes
    ) -> None:
        self._tracker.returned(properties.message_id)
        log.warning("message unroutable: no queue bound", extra={"envelope_id": properties.message_id})

    def _on_reply(
        self, _channel: Channel, _method: object, properties: pika.BasicProperties, body: bytes
    ) -> None:
        self._replies.deliver(
            properties.correlation_id, Reply(properties.content_type or "application/octet-stream", body)
        )

    def _on_blocked(self, _connection: object, _frame: object) -> None:
        self._link.blocked = True
        log.warning("broker blocked publishers (resource alarm)")

    def _on_unblocked(self, _connection: object, _frame: object) -> None:
        self._link.blocked = False
        log.info("broker unblocked publishers")

    def _on_channel_closed(self, _channel: Channel, reason: Exception) -> None:
        exchange_missing = isinstance(reason, ChannelClosedByBroker) and reason.reply_code == NOT_FOUND
        self._lose_link(EXCHANGE_MISSING if exchange_missing else f"channel closed: {reason}")
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _on_connection_failed(self, connection: pika.SelectConnection, error: BaseException) -> None:
        self._lose_link(f"cannot connect: {type(error).__name__}")
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: pika.SelectConnection, reason: BaseException) -> None:
        self._lose_link(f"connection closed: {type(reason).__name__}")
        connection.ioloop.stop()

    def _lose_link(self, why: str) -> None:
        self._channel = None
        self._link.blocked = False
        lost = BrokerUnreachable("the broker connection was lost before the confirm")
        self._tracker.fail_all(lost)
        self._outbox.shut(lost)
        if self._link.set(LinkState.DOWN):
            log.warning("broker link down", extra={"reason": why[:200]})

    def _close_connection(self) -> None:
        if self._connection is not None and self._connection.is_open:
            self._connection.close()
        elif self._connection is not None:
            self._connection.ioloop.stop()
