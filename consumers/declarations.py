"""The queues and exchanges a consumer declares at every (re)connect, as the definitions file has them.

Idempotent, so that nothing depends on pika restoring state after a reconnect. A declaration
the broker refuses (403, 406) is refused again after any reconnect: ``DeclarationRefused``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker
from pika.spec import ACCESS_REFUSED, PRECONDITION_FAILED

from consumers.errors import DeclarationRefused
from consumers.record_channel import ensure_behaviour_exchange
from slack_fanout import topology
from slack_fanout.amqp import ensure_inbound_exchange

log = logging.getLogger(__name__)

_REFUSALS = frozenset({ACCESS_REFUSED, PRECONDITION_FAILED})
"""A declaration the broker refuses with these, it will refuse every time."""

EARLIER_QUEUE = (
    "queue declared by an earlier version: each message its bound drops is dead-lettered; "
    "replace it (docs/operations.md, Upgrading: bounded queues)"
)


def ensure_exchanges(connection: pika.BlockingConnection, behaviour_records: bool) -> None:
    """``slack.inbound``, and with behaviour records on ``slack.behaviour``: each declared where missing."""
    with _refusals_are_final():
        ensure_inbound_exchange(connection)
    if behaviour_records:
        ensure_behaviour_exchange(connection)


def declare_consumer_queues(
    channel: BlockingChannel, name: str, delays_ms: tuple[int, ...]
) -> BlockingChannel:
    """The dead-letter queue, the consumer's queue bound to ``slack.inbound``, and its retry path;
    returns the channel to go on with (``channel``, unless the broker closed it).

    Retry queues are declared for the configured schedule, whatever it is; each delay's queue
    is bound to the retry exchange under its own name, and so are the dead-letter queue and the
    consumer's queue (where the retry queues send a copy back).
    """
    queue = topology.consumer_queue(name)
    with _refusals_are_final():
        channel.queue_declare(
            topology.dead_letter_queue(name), durable=True, arguments=topology.dead_letter_queue_arguments()
        )
    channel = _declare_consumer_queue(channel, name)
    with _refusals_are_final():
        channel.queue_bind(queue, topology.INBOUND_EXCHANGE)
        channel.exchange_declare(topology.retry_exchange(name), exchange_type="direct", durable=True)
        for delay in sorted(set(delays_ms)):
            channel.queue_declare(
                topology.retry_queue(name, delay),
                durable=True,
                arguments=topology.retry_queue_arguments(name, delay),
            )
        for parking in topology.parking_queues(name, delays_ms):
            channel.queue_bind(parking, topology.retry_exchange(name), routing_key=parking)
    return channel


def _declare_consumer_queue(channel: BlockingChannel, name: str) -> BlockingChannel:
    """The consumer's queue as defined; or, where an earlier version declared it with the dead-letter
    arguments a bounded queue no longer has, that queue as it is, with a warning. The broker closes
    the channel that the first declaration is refused on: the one to go on with is returned."""
    queue = topology.consumer_queue(name)
    try:
        channel.queue_declare(queue, durable=True, arguments=topology.consumer_queue_arguments(name))
        return channel
    except ChannelClosedByBroker as error:
        earlier = topology.earlier_consumer_queue_arguments(name)
        if error.reply_code != PRECONDITION_FAILED or earlier == topology.consumer_queue_arguments(name):
            raise _refused(error) from None
    channel = channel.connection.channel()
    with _refusals_are_final():
        channel.queue_declare(queue, durable=True, arguments=earlier)
    log.warning(EARLIER_QUEUE, extra={"consumer": name, "queue": queue})
    return channel


def report_legacy_retry_queues(
    connection: pika.BlockingConnection, name: str, delays_ms: tuple[int, ...]
) -> None:
    """Warn about classic retry queues an earlier version left (docs/operations.md)."""
    for delay in sorted(set(delays_ms) | set(topology.RETRY_DELAYS_MS)):
        queue = topology.legacy_retry_queue(name, delay)
        channel = connection.channel()
        try:
            count = channel.queue_declare(queue, passive=True).method.message_count
        except ChannelClosedByBroker:
            continue  # absent, as it should be (or not ours to see); the broker closed the channel
        channel.close()
        log.warning(
            "legacy retry queue found: delete it once empty",
            extra={"consumer": name, "queue": queue, "messages": count},
        )


@contextlib.contextmanager
def _refusals_are_final() -> Iterator[None]:
    """A declaration the broker refuses (403, 406) is refused again after any reconnect."""
    try:
        yield
    except ChannelClosedByBroker as error:
        if error.reply_code in _REFUSALS:
            raise _refused(error) from None
        raise


def _refused(error: ChannelClosedByBroker) -> DeclarationRefused:
    return DeclarationRefused(f"the broker refused the declarations: {error.reply_text}")
