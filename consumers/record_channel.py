"""Behaviour records to the broker: fanout exchange ``slack.behaviour``, a stream behind it.

Records leave from the runtime's connection thread with each batch of settled messages,
on a channel of their own in confirm mode, without waiting for each confirm: pika's
``BlockingChannel`` waits for every confirm in ``basic_publish`` (one round trip per
record), so records are published on the channel underneath it and their confirms counted
as they arrive. The runtime acknowledges a message only once its record is confirmed
(``is_confirmed``; on stop, ``wait_for_confirms``), so a message is never acknowledged while
its record could still be lost; a consumer that dies first gets the message again, and
publishes its record again. A record not confirmed within ``CONFIRM_TIMEOUT_S`` is counted
as lost and no longer holds its message back.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from consumers import metrics
from slack_fanout import behaviour, topology
from slack_fanout.amqp import exchange_exists

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT_S = 5.0
"""How long acknowledgements wait for the records' confirms; past it, the records count as lost."""


def ensure_behaviour_exchange(connection: pika.BlockingConnection) -> None:
    """Checked passively: a least-privileged consumer user may write to the exchange but not configure
    it. Where it does not exist (a broker not booted with the definitions), the exchange and its stream
    are declared."""
    if exchange_exists(connection, topology.BEHAVIOUR_EXCHANGE):
        return
    channel = connection.channel()
    channel.exchange_declare(topology.BEHAVIOUR_EXCHANGE, exchange_type="fanout", durable=True)
    channel.queue_declare(
        topology.BEHAVIOUR_STREAM, durable=True, arguments=topology.behaviour_stream_arguments()
    )
    channel.queue_bind(topology.BEHAVIOUR_STREAM, topology.BEHAVIOUR_EXCHANGE)
    channel.close()


class RecordChannel:
    """Pipelined, confirmed publishes of behaviour records; used on the connection's thread only."""

    def __init__(self, connection: pika.BlockingConnection, consumer: str) -> None:
        self._connection = connection
        self._consumer = consumer
        blocking: BlockingChannel = connection.channel()
        self._channel: Any = (
            blocking._impl
        )  # the channel under the blocking one: confirms arrive as callbacks
        self._published = 0
        self._confirmed = 0
        self._waiting_since: float | None = None
        """When the oldest record still unconfirmed was published (roughly: reset at each confirm)."""
        selected: list[bool] = []
        self._channel.add_on_return_callback(self._on_return)
        self._channel.confirm_delivery(self._on_confirm, callback=lambda _frame: selected.append(True))
        while not selected:
            connection.process_data_events(time_limit=0.05)

    def publish(self, record: bytes) -> int:
        """Its sequence number, for ``is_confirmed``."""
        properties = BasicProperties(
            content_type=behaviour.CONTENT_TYPE,
            delivery_mode=pika.DeliveryMode.Persistent,
            app_id=self._consumer,
        )
        self._channel.basic_publish(topology.BEHAVIOUR_EXCHANGE, "", record, properties, mandatory=True)
        self._published += 1
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
        return self._published

    def is_confirmed(self, sequence: int) -> bool:
        """Whether the broker confirmed (or refused) record ``sequence``; past the bound it is lost."""
        since = self._waiting_since
        if sequence > self._confirmed and since is not None and time.monotonic() - since > CONFIRM_TIMEOUT_S:
            self._give_up()
        return sequence <= self._confirmed

    @property
    def unconfirmed(self) -> int:
        return self._published - self._confirmed

    def wait_for_confirms(self) -> None:
        """Until every record published so far (and those published meanwhile) is confirmed, or the bound."""
        if not self.unconfirmed:
            return
        deadline = time.monotonic() + CONFIRM_TIMEOUT_S
        while self.unconfirmed and time.monotonic() < deadline and self._channel.is_open:
            self._connection.process_data_events(time_limit=0.01)
        if self.unconfirmed:
            self._give_up()

    def _give_up(self) -> None:
        metrics.RECORDS.labels(self._consumer, "lost").inc(self.unconfirmed)
        log.warning(
            "behaviour records not confirmed in time",
            extra={"consumer": self._consumer, "records": self.unconfirmed},
        )
        self._confirmed = self._published
        self._waiting_since = None

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        if method.multiple:
            count = max(method.delivery_tag - self._confirmed, 0)
        else:
            count = 1 if self._confirmed < self._published else 0  # 0: one given up as lost
        self._confirmed += count
        self._waiting_since = time.monotonic() if self._confirmed < self._published else None
        if isinstance(method, Basic.Nack):
            metrics.RECORDS.labels(self._consumer, "refused").inc(count)
            log.warning("behaviour records refused by the broker", extra={"consumer": self._consumer,
                                                                           "records": count})  # fmt: skip
        else:
            metrics.RECORDS.labels(self._consumer, "published").inc(count)

    def _on_return(self, _channel: Any, _method: Any, _properties: Any, _body: bytes) -> None:
        metrics.RECORDS.labels(self._consumer, "unroutable").inc()
        log.warning("behaviour record unroutable: no stream bound to the exchange",
                    extra={"consumer": self._consumer, "exchange": topology.BEHAVIOUR_EXCHANGE})  # fmt: skip
