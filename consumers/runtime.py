"""The consumer runtime: consume queue ``slack.<name>`` until stopped, reconnecting whenever the broker goes.

At-least-once: a message is acknowledged only after its handler returned and its outcome was
carried out (a reply sent, a failed one's copy parked and confirmed). How one connection's
deliveries reach the handler and come back: ``consumers.session``; the design and its reasons:
docs/architecture.md, "The consumer runtime".
"""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPChannelError, AMQPConnectionError

from consumers.declarations import declare_consumer_queues, ensure_exchanges, report_legacy_retry_queues
from consumers.dispatch import Dispatcher
from consumers.errors import ConsumerCancelled, CopyNotAccepted
from consumers.session import Session
from slack_fanout import topology
from slack_fanout.amqp import LOGIN_ERRORS, login_refused
from slack_fanout.answer_deadline import ANSWER_TIMEOUT_S, answered_within
from slack_fanout.backoff import Backoff
from slack_fanout.batching_connection import open_blocking
from slack_fanout.failover import NodeRotation

log = logging.getLogger(__name__)

_BROKER_GONE = (AMQPConnectionError, AMQPChannelError, ConsumerCancelled, CopyNotAccepted)
"""Failures that a new connection and the same declarations can cure (``NoAnswer`` among them)."""


@dataclass(frozen=True)
class ConsumerConfig:
    name: str
    amqp_urls: tuple[str, ...]
    """One per node of a cluster; pika tries them in turn (``slack_fanout.failover`` picks the first)."""
    prefetch: int
    concurrency: int = 1
    retry_delays_ms: tuple[int, ...] = topology.RETRY_DELAYS_MS
    reconnect_delay_min: float = 0.5
    reconnect_delay_max: float = 30.0
    behaviour_records: bool = False
    """Publish each message's behaviour record (``Result.record``) to ``slack.behaviour``."""


class Consumer:
    """Consumes queue ``slack.<name>``, settling each message with the dispatcher's outcome."""

    def __init__(self, config: ConsumerConfig, dispatcher: Dispatcher) -> None:
        self._config = config
        self._dispatcher = dispatcher
        self._queue = topology.consumer_queue(config.name)
        self._stopping = False
        self._failures = 0
        self._backoff = Backoff(config.reconnect_delay_min, config.reconnect_delay_max)
        self._legacy_checked = False
        self._nodes = NodeRotation(config.amqp_urls)

    def run(self) -> None:
        """Consume until SIGTERM or SIGINT; reconnect with backoff whenever the broker goes away.

        Raises ``DeclarationRefused`` when the broker's queues disagree with the topology, and
        ``LoginRefused`` when it refuses the login: neither would change on a retry.
        """
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        while not self._stopping:
            try:
                self._consume()
            except LOGIN_ERRORS as error:
                raise login_refused(self._nodes.current(), error) from None
            except _BROKER_GONE as error:
                self._nodes.move_on()  # the node that failed or went away is tried last next time
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
        delay = self._backoff.delay()
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

        Every (re)connect runs this same code, so nothing depends on pika restoring state. With
        several nodes, pika's connection workflow tries each in turn until one accepts; the
        unacknowledged messages of a lost connection are delivered again, on whichever node.
        """
        config = self._config
        session = Session(
            open_blocking(self._parameters()),
            self._dispatcher,
            config.name,
            prefetch=config.prefetch,
            concurrency=config.concurrency,
            retry_delays_ms=config.retry_delays_ms,
            behaviour_records=config.behaviour_records,
        )
        try:
            with answered_within(session.connection, ANSWER_TIMEOUT_S, given_up=lambda: self._stopping):
                channel = self._declare(session.connection, session.connection.channel())
                session.open_publishing_channels()
                channel.basic_qos(prefetch_count=config.prefetch)
                channel.add_on_cancel_callback(_cancelled_by_broker)
                tag = channel.basic_consume(self._queue, session.on_message)
            log.info("consuming", extra={"consumer": config.name, "queue": self._queue,
                                         "node": _node_of(session.connection)})  # fmt: skip
            self._failures = 0
            self._backoff.reset()
            while not self._stopping:
                session.connection.process_data_events(time_limit=session.idle_time())
                session.acknowledge()
            with answered_within(session.connection, ANSWER_TIMEOUT_S):
                channel.basic_cancel(tag)
            session.finish()
        finally:
            session.close()

    def _declare(self, connection: pika.BlockingConnection, channel: BlockingChannel) -> BlockingChannel:
        """Everything the consumer needs; returns the channel to consume on."""
        config = self._config
        ensure_exchanges(connection, config.behaviour_records)
        channel = declare_consumer_queues(channel, config.name, config.retry_delays_ms)
        if not self._legacy_checked:  # once per run
            self._legacy_checked = True
            report_legacy_retry_queues(connection, config.name, config.retry_delays_ms)
        return channel

    def _parameters(self) -> list[pika.URLParameters]:
        every = []
        for url in self._nodes.order():
            parameters = pika.URLParameters(url)
            parameters.client_properties = {"connection_name": f"slack-fanout consumer {self._config.name}"}
            every.append(parameters)
        return every


def _node_of(connection: pika.BlockingConnection) -> str:
    """``host:port`` of the node the connection reached (of several, the first that accepted)."""
    parameters = connection._impl.params  # pika keeps the winning endpoint's parameters there
    return f"{parameters.host}:{parameters.port}"


def _cancelled_by_broker(_frame: object) -> None:
    raise ConsumerCancelled("the broker cancelled the consumer (queue deleted?)")
