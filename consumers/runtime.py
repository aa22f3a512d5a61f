"""The consumer runtime: one queue of its own, each message handed to the handler, acked after it.

At-least-once: a message is acknowledged only once the handler has returned, so a
consumer that dies mid-message gets it again. A handler that raises has the message
returned to the queue; the quorum queue counts deliveries and, past the topology's
delivery limit, dead-letters it to ``slack.<name>.dead``, so a poison message is neither
lost nor retried forever. A message that is not an envelope goes there at once.

This is the only module of the consumers that talks to RabbitMQ.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPChannelError, AMQPConnectionError
from pika.spec import Basic, BasicProperties

from consumers.context import Context
from consumers.handlers import Handler
from consumers.slack_actions import SlackActions
from slack_fanout import topology
from slack_fanout.envelope import DecodeError, Envelope
from slack_fanout.logs import BoundLogger

log = logging.getLogger(__name__)

SideEffects = Callable[[logging.LoggerAdapter], SlackActions]
"""Builds a message's Slack side effects around its logger (live, or recorded in shadow mode)."""


@dataclass(frozen=True)
class ConsumerConfig:
    name: str
    amqp_url: str
    prefetch: int = 10
    reconnect_delay_min: float = 0.5
    reconnect_delay_max: float = 30.0


class Consumer:
    def __init__(self, config: ConsumerConfig, handler: Handler, side_effects: SideEffects) -> None:
        self._config = config
        self._handler = handler
        self._side_effects = side_effects
        self._queue = topology.consumer_queue(config.name)
        self._stopping = False

    def run(self) -> None:
        """Consume until SIGTERM or SIGINT; reconnect with backoff whenever the broker goes away."""
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        delay = self._config.reconnect_delay_min
        while not self._stopping:
            try:
                self._consume_until_stopped()
            except (AMQPConnectionError, AMQPChannelError) as error:
                log.warning(
                    "broker connection lost; reconnecting",
                    extra={"consumer": self._config.name, "error": type(error).__name__, "retry_in_s": delay},
                )
                time.sleep(delay)
                delay = min(delay * 2, self._config.reconnect_delay_max)
                continue
        log.info("stopped", extra={"consumer": self._config.name})

    def _request_stop(self, signum: int, _frame: object) -> None:
        log.info("stopping after the message in hand", extra={"signal": signal.Signals(signum).name})
        self._stopping = True

    def _consume_until_stopped(self) -> None:
        parameters = pika.URLParameters(self._config.amqp_url)
        parameters.client_properties = {"connection_name": f"slack-fanout consumer {self._config.name}"}
        connection = pika.BlockingConnection(parameters)
        try:
            channel = connection.channel()
            self._declare(channel)
            channel.basic_qos(prefetch_count=self._config.prefetch)
            tag = channel.basic_consume(self._queue, self._on_message)
            log.info("consuming", extra={"consumer": self._config.name, "queue": self._queue})
            while not self._stopping:
                connection.process_data_events(time_limit=0.5)
            channel.basic_cancel(tag)  # unacked prefetched messages go back to the queue on close
        finally:
            if connection.is_open:
                connection.close()

    def _declare(self, channel: BlockingChannel) -> None:
        """The same declarations at every (re)connect: idempotent, and they match the definitions file."""
        name = self._config.name
        channel.exchange_declare(topology.INBOUND_EXCHANGE, exchange_type="fanout", durable=True)
        channel.queue_declare(
            topology.dead_letter_queue(name), durable=True, arguments=topology.dead_letter_queue_arguments()
        )
        channel.queue_declare(self._queue, durable=True, arguments=topology.consumer_queue_arguments(name))
        channel.queue_bind(self._queue, topology.INBOUND_EXCHANGE)

    def _on_message(
        self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        if self._stopping:
            return  # left unacked: returned to the queue when the channel closes
        started = time.perf_counter()
        fields = {"consumer": self._config.name, "message_sha256": hashlib.sha256(body).hexdigest()}
        try:
            envelope = Envelope.decode(body)
        except DecodeError as error:
            log.error("not an envelope: dead-lettered", extra={**fields, "reason": error.reason})
            channel.basic_reject(method.delivery_tag, requeue=False)
            return
        fields.update(envelope_id=envelope.id, kind=envelope.kind.value)
        message_log = BoundLogger(log, {"consumer": self._config.name, "envelope_id": envelope.id})
        context = Context(self._config.name, envelope, message_log, self._side_effects(message_log))
        try:
            self._handler(envelope, context)
        except Exception as error:
            log.warning(
                "handler failed; message returned to the queue",
                extra={**fields, "error": f"{type(error).__name__}: {error}"[:500],
                       "delivery_count": _delivery_count(properties)},
            )  # fmt: skip
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        channel.basic_ack(method.delivery_tag)
        log.info("handled", extra={**fields, "duration_ms": round((time.perf_counter() - started) * 1000, 2)})


def _delivery_count(properties: BasicProperties) -> int:
    """Earlier deliveries of this message, as the quorum queue counts them."""
    return int((properties.headers or {}).get("x-delivery-count", 0))
