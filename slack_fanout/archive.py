"""The replay's broker side: read the archive stream from an instant, copy messages into one queue.

AMQP 0-9-1 gives a stream reader no end: it waits at the tail for what comes next. So the
copier first appends a marker of its own to the stream (through the default exchange, so
no consumer's queue gets it) and reads until it meets it: everything before the marker was
archived before the command started, and nothing after it is read. Every other reader of
the archive skips messages that carry ``MARKER_HEADER``.

Each copy is published persistent, confirmed and mandatory to the default exchange with
the queue's name as routing key, so only that queue receives it, and it keeps its original
``message_id``: the consumer's dedupe ledger recognises a request it has handled before.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import TracebackType

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPChannelError, AMQPError, ChannelClosedByBroker, NackError, UnroutableError
from pika.spec import BasicProperties

from slack_fanout.amqp import LOGIN_ERRORS, login_refused, persistent_copy
from slack_fanout.topology import ARCHIVE_QUEUE, REPLAYED_HEADER

MARKER_HEADER = "x-slack-fanout-replay-marker"

STREAM_SLACK = timedelta(seconds=5)
"""A stream finds a timestamp offset by chunk, and a request is archived a moment after it arrived:
reading starts this much earlier, and the requests before the window are skipped."""

PREFETCH = 500


class ReplayRefused(Exception):
    """The broker refused the replay: no archive, no such queue, no permission, or a nack."""


class ArchiveCopier:
    """One connection: a channel reading the archive, one publishing the copies with confirms."""

    def __init__(self, amqp_url: str, queue: str) -> None:
        self._amqp_url = amqp_url
        self._queue = queue
        parameters = pika.URLParameters(amqp_url)
        parameters.client_properties = {"connection_name": f"slack-fanout replay into {queue}"}
        self._parameters = parameters
        self._connection: pika.BlockingConnection | None = None
        self._reader: BlockingChannel | None = None
        self._publisher: BlockingChannel | None = None

    def __enter__(self) -> ArchiveCopier:
        try:
            self._connection = pika.BlockingConnection(self._parameters)
        except LOGIN_ERRORS as error:
            raise login_refused(self._amqp_url, error) from None
        self._reader = self._connection.channel()
        self._reader.basic_qos(prefetch_count=PREFETCH)  # a stream reader must set one
        self._publisher = self._connection.channel()
        self._publisher.confirm_delivery()
        return self

    def __exit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        """Close, whatever the stream still had in flight to the reader.

        pika rejects a closing consumer's unacknowledged deliveries, and RabbitMQ answers a reject
        on a stream by closing the connection: harmless here, since reading a stream takes nothing
        from it and every copy was confirmed before.
        """
        if self._connection is not None and self._connection.is_open:
            with contextlib.suppress(AMQPError):
                self._connection.close()

    def mark_end(self) -> str:
        """Append the marker that ends this replay's reading; its id."""
        marker = uuid.uuid4().hex
        properties = BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent, headers={MARKER_HEADER: marker}
        )
        self._publish(ARCHIVE_QUEUE, b"", properties, f"no archive stream {ARCHIVE_QUEUE} in this vhost")
        return marker

    def read(self, start: datetime, marker: str) -> Iterator[tuple[bytes, BasicProperties]]:
        """Every archived message from ``start`` (a little earlier, see ``STREAM_SLACK``) to the marker."""
        reader = self._channel(self._reader)
        arguments = {"x-stream-offset": start - STREAM_SLACK}
        try:
            for method, properties, body in reader.consume(ARCHIVE_QUEUE, arguments=arguments):
                reader.basic_ack(method.delivery_tag)
                headers = properties.headers or {}
                if headers.get(MARKER_HEADER) == marker:
                    return
                if MARKER_HEADER not in headers:  # another replay's marker
                    yield body, properties
        except ChannelClosedByBroker as error:
            raise ReplayRefused(f"cannot read {ARCHIVE_QUEUE}: {error.reply_text}") from None

    def copy(self, body: bytes, message_id: str, original: BasicProperties, replayed_at: datetime) -> None:
        """Publish one archived request into the queue, confirmed; never its stale reply-to address."""
        properties = persistent_copy(original, {REPLAYED_HEADER: replayed_at.isoformat()})
        properties.message_id = message_id
        missing = f"no queue {self._queue}: start its consumer once, or run slack-fanout apply --consumer"
        self._publish(self._queue, body, properties, missing)

    def _publish(self, queue: str, body: bytes, properties: BasicProperties, missing: str) -> None:
        publisher = self._channel(self._publisher)
        try:
            publisher.basic_publish("", queue, body, properties, mandatory=True)
        except UnroutableError:
            raise ReplayRefused(missing) from None
        except NackError:
            raise ReplayRefused(f"the broker did not accept a copy into {queue} (nack)") from None
        except ChannelClosedByBroker as error:
            raise ReplayRefused(f"the broker refused to publish into {queue}: {error.reply_text}") from None

    @staticmethod
    def _channel(channel: BlockingChannel | None) -> BlockingChannel:
        if channel is None or not channel.is_open:
            raise AMQPChannelError("the copier is not connected: use it in a with block")
        return channel
