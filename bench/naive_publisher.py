"""The obvious publisher, kept as the benchmark's baseline: one blocking, confirmed publish at a time.

It keeps the same promise as ``gateway.publisher`` (200 only after the confirm) but holds
the worker's one connection for the whole round trip of each message, so the broker never
sees more than one message in flight per worker and cannot batch its disk writes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, NackError, UnroutableError

from gateway.errors import BrokerUnreachable, PublishNacked, Unroutable
from slack_fanout.amqp import envelope_properties
from slack_fanout.envelope import Envelope, Reply
from slack_fanout.topology import INBOUND_EXCHANGE

log = logging.getLogger(__name__)


class BlockingPublisher:
    def __init__(self, amqp_url: str, timeout_seconds: float) -> None:
        self._parameters = pika.URLParameters(amqp_url)
        self._parameters.connection_attempts = 1
        self._parameters.socket_timeout = timeout_seconds
        self._parameters.stack_timeout = timeout_seconds
        # An alarm blocks publishers indefinitely; give up so Slack gets a 503, not a hang.
        self._parameters.blocked_connection_timeout = timeout_seconds
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def publish(self, envelope: Envelope) -> None:
        """Return once the broker confirmed; raise ``PublishFailed`` otherwise."""
        properties = envelope_properties(envelope)
        body = envelope.encode()
        with self._lock:
            try:
                self._publish_once(body, properties)
            except (AMQPError, OSError) as first_error:
                if isinstance(first_error, UnroutableError | NackError):
                    raise _refusal(first_error) from None
                # The connection may simply have gone stale while the worker was idle: one fresh try.
                self._discard_connection()
                try:
                    self._publish_once(body, properties)
                except (AMQPError, OSError) as error:
                    self._discard_connection()
                    raise _refusal(error) from None

    def request_reply(self, envelope: Envelope, reply_deadline: float) -> Reply | None:
        """This design waits for no consumer's answer: the request is published, and answered empty."""
        self.publish(envelope)
        return None

    def start(self) -> None:
        self.ready()

    def ready(self) -> bool:
        """Whether a publish could go through now; also keeps an idle connection's heartbeats."""
        with self._lock:
            try:
                self._open_channel().connection.process_data_events(time_limit=0)
            except (AMQPError, OSError) as error:
                self._discard_connection()
                log.warning("broker not usable", extra={"error": type(error).__name__})
                return False
            return True

    def close(self, timeout: float = 0) -> None:
        with self._lock:
            self._discard_connection()

    def _publish_once(self, body: bytes, properties: pika.BasicProperties) -> None:
        # mandatory: an unroutable message (no queue bound) comes back as an error, not a silent 200.
        self._open_channel().basic_publish(INBOUND_EXCHANGE, "", body, properties, mandatory=True)

    def _open_channel(self) -> BlockingChannel:
        if self._pid != os.getpid():
            self._discard_connection()  # inherited across fork: never touch the parent's socket
        if self._channel is None or not self._channel.is_open:
            self._discard_connection()
            self._parameters.client_properties = {"connection_name": f"slack-fanout gateway {os.getpid()}"}
            connection = pika.BlockingConnection(self._parameters)
            channel = connection.channel()
            channel.exchange_declare(INBOUND_EXCHANGE, exchange_type="fanout", durable=True)
            channel.confirm_delivery()
            self._connection, self._channel, self._pid = connection, channel, os.getpid()
            log.info("connected to broker", extra={"exchange": INBOUND_EXCHANGE})
        return self._channel

    def _discard_connection(self) -> None:
        if self._connection is not None and self._pid == os.getpid() and self._connection.is_open:
            with contextlib.suppress(AMQPError, OSError):
                self._connection.close()
        self._connection = self._channel = self._pid = None


def _refusal(error: Exception) -> BrokerUnreachable | PublishNacked | Unroutable:
    if isinstance(error, UnroutableError):
        return Unroutable(f"no queue is bound to exchange {INBOUND_EXCHANGE!r}")
    if isinstance(error, NackError):
        return PublishNacked("the broker refused the message")
    log.warning("publish failed", extra={"error": type(error).__name__, "detail": str(error)[:200]})
    return BrokerUnreachable("the broker is unreachable")
