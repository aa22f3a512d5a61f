"""The consumer runtime: one queue of its own, each message handed to the handler, settled after it.

At-least-once: a message is acknowledged only once the handler has returned, so a
consumer that dies mid-message gets it again. A handler that raises has the message
rejected back to the queue; the quorum queue counts deliveries and, past the topology's
delivery limit, dead-letters it to ``slack.<name>.dead``, so a poison message is neither
lost nor retried forever. A message that is not an envelope goes there at once.

The handler runs on a worker thread while the main thread keeps the connection alive
(heartbeats, signals), so a slow handler does not get its connection closed under it;
the worker hands each outcome back with ``add_callback_threadsafe``, the only thread-safe
call of pika's ``BlockingConnection``.

This is the only module of the consumers that talks to RabbitMQ.
"""

from __future__ import annotations

import functools
import logging
import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import (
    AMQPChannelError,
    AMQPConnectionError,
    ChannelClosedByBroker,
    ConnectionWrongStateError,
)
from pika.spec import Basic, BasicProperties

from consumers.dispatch import Delivery, Dispatcher, Outcome
from consumers.errors import ConsumerCancelled, DeclarationRefused
from slack_fanout import topology

log = logging.getLogger(__name__)

_BROKER_GONE = (AMQPConnectionError, AMQPChannelError, ConsumerCancelled)
"""Failures that a new connection and the same declarations can cure."""

_REFUSALS = frozenset({403, 406})
"""ACCESS_REFUSED, PRECONDITION_FAILED: a declaration the broker will refuse every time."""


@dataclass(frozen=True)
class ConsumerConfig:
    name: str
    amqp_url: str
    prefetch: int
    reconnect_delay_min: float = 0.5
    reconnect_delay_max: float = 30.0


class Consumer:
    """Consumes queue ``slack.<name>``, settling each message with the dispatcher's outcome."""

    def __init__(self, config: ConsumerConfig, dispatcher: Dispatcher) -> None:
        self._config = config
        self._dispatcher = dispatcher
        self._queue = topology.consumer_queue(config.name)
        self._stopping = False
        self._failures = 0

    def run(self) -> None:
        """Consume until SIGTERM or SIGINT; reconnect with backoff whenever the broker goes away.

        Raises ``DeclarationRefused`` when the broker's queues disagree with the topology.
        """
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        while not self._stopping:
            try:
                self._consume()
            except _BROKER_GONE as error:
                if not self._stopping:
                    self._back_off(error)
        log.info("stopped", extra={"consumer": self._config.name})

    def _request_stop(self, signum: int, _frame: object) -> None:
        log.info(
            "stopping after the message in hand",
            extra={"consumer": self._config.name, "signal": signal.Signals(signum).name},
        )
        self._stopping = True

    def _back_off(self, error: Exception) -> None:
        self._failures += 1
        delay = min(self._config.reconnect_delay_min * 2 ** min(self._failures - 1, 16),
                    self._config.reconnect_delay_max)  # fmt: skip
        log.warning(
            "broker connection failed; retrying",
            extra={"consumer": self._config.name, "attempt": self._failures, "retry_in_s": delay,
                   "error": f"{type(error).__name__}: {error}"[:300]},
        )  # fmt: skip
        deadline = time.monotonic() + delay
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(0.1)  # in slices: a signal handler cannot cut a sleep short

    def _consume(self) -> None:
        """One connection's life: declare, consume until stopped or lost, then settle what is in hand.

        Every (re)connect runs this same code, so nothing depends on pika restoring state.
        """
        parameters = pika.URLParameters(self._config.amqp_url)
        parameters.client_properties = {"connection_name": f"slack-fanout consumer {self._config.name}"}
        session = _Session(pika.BlockingConnection(parameters), self._dispatcher, self._config.name)
        try:
            channel = session.connection.channel()
            self._declare(channel)
            channel.basic_qos(prefetch_count=self._config.prefetch)
            channel.add_on_cancel_callback(_cancelled_by_broker)
            tag = channel.basic_consume(self._queue, session.on_message)
            log.info("consuming", extra={"consumer": self._config.name, "queue": self._queue})
            self._failures = 0
            while not self._stopping:
                session.connection.process_data_events(time_limit=0.5)
            channel.basic_cancel(tag)
            session.finish()
        finally:
            session.close()

    def _declare(self, channel: BlockingChannel) -> None:
        """The same declarations at every (re)connect: idempotent, and they match the definitions file."""
        name = self._config.name
        try:
            channel.exchange_declare(topology.INBOUND_EXCHANGE, exchange_type="fanout", durable=True)
            channel.queue_declare(
                topology.dead_letter_queue(name),
                durable=True,
                arguments=topology.dead_letter_queue_arguments(),
            )
            channel.queue_declare(
                self._queue, durable=True, arguments=topology.consumer_queue_arguments(name)
            )
            channel.queue_bind(self._queue, topology.INBOUND_EXCHANGE)
        except ChannelClosedByBroker as error:
            if error.reply_code in _REFUSALS:
                raise DeclarationRefused(f"the broker refused the declarations: {error.reply_text}") from None
            raise


class _Session:
    """One connection and the worker thread that runs the handler for the messages it delivers."""

    def __init__(self, connection: pika.BlockingConnection, dispatcher: Dispatcher, name: str) -> None:
        self.connection = connection
        self._dispatcher = dispatcher
        self._name = name
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"handler-{name}")
        self._in_hand: list[Future[None]] = []

    def on_message(
        self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        """On the connection's thread: queue the message for the worker (at most ``prefetch`` wait)."""
        delivery = Delivery(body, _delivery_count(properties))
        self._in_hand[:] = [future for future in self._in_hand if not future.done()]
        self._in_hand.append(self._worker.submit(self._process, channel, method.delivery_tag, delivery))

    def finish(self) -> None:
        """On stop: drop what has not started, let the running handler finish, then send its settlement."""
        running = [future for future in self._in_hand if not future.cancel()]
        while not all(future.done() for future in running):
            self.connection.process_data_events(time_limit=0.1)  # heartbeats, while the handler finishes
        self.connection.process_data_events(time_limit=0)  # runs the settlement the worker handed over

    def close(self) -> None:
        """Messages not started stay unacked: the broker requeues them when the connection closes.

        After a lost connection this waits for the handler in hand, so that the broker's
        redelivered copy never runs beside it.
        """
        self._worker.shutdown(wait=True, cancel_futures=True)
        if self.connection.is_open:
            self.connection.close()

    def _process(self, channel: BlockingChannel, tag: int, delivery: Delivery) -> None:
        """On the worker thread: run the handler, then have the connection's thread settle the message."""
        outcome = self._dispatcher.process(delivery)
        try:
            self.connection.add_callback_threadsafe(functools.partial(_settle, channel, tag, outcome))
        except ConnectionWrongStateError:
            log.warning(
                "connection lost before the message was settled; the broker will deliver it again",
                extra={"consumer": self._name, "outcome": outcome.value},
            )


def _settle(channel: BlockingChannel, tag: int, outcome: Outcome) -> None:
    """On the connection's thread. A reject (unlike a nack) counts as a failed delivery on every RabbitMQ
    version (4.3 stopped counting nacks), so the delivery limit always ends a poison message's retries.
    """
    if not channel.is_open:
        return  # the tag died with the channel; the broker redelivers the message
    if outcome is Outcome.ACK:
        channel.basic_ack(tag)
    else:
        channel.basic_reject(tag, requeue=outcome is Outcome.RETRY)


def _cancelled_by_broker(_frame: object) -> None:
    raise ConsumerCancelled("the broker cancelled the consumer (queue deleted?)")


def _delivery_count(properties: BasicProperties) -> int:
    """Earlier deliveries of this message, as the quorum queue counts them."""
    return int((properties.headers or {}).get("x-delivery-count", 0))
