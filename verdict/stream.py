"""Reading the behaviour stream: the only module of the comparer that talks to the broker.

Consumers publish their records to the fanout exchange ``slack.behaviour``; the stream
``slack.behaviour`` behind it keeps them, so any number of comparers can read the same
window, now or later, without taking anything away from each other. A stream is read
with a prefetch (``basic.qos``, which the broker requires), from an ``x-stream-offset``
(``first``, or a timestamp: the broker starts at the chunk holding it, so the session
filters the few records before the window), acknowledging each delivery so the broker
keeps sending. Yields each record's bytes, and ``None`` on every ``tick`` without one,
so the caller can run the join's clock.

A node cut off from its cluster's majority lets a reader in and then answers nothing about the
stream: the set-up and the close are bounded (``answered_within``), so such a node ends a
single read with ``StreamUnavailable``, a followed one moves on to reconnecting, and a stop
asked for meanwhile is kept at once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from slack_fanout.amqp import LOGIN_ERRORS, login_refused
from slack_fanout.answer_deadline import ANSWER_TIMEOUT_S, answered_within
from slack_fanout.topology import BEHAVIOUR_STREAM

log = logging.getLogger(__name__)

PREFETCH = 500
RECONNECT_DELAY_S = 2.0


class StreamUnavailable(Exception):
    """The broker cannot be reached."""


class NoBehaviourStream(Exception):
    """The broker has no stream ``slack.behaviour`` (no consumer published a record yet), or this
    user may not read it: retrying cannot help."""


def read_stream(
    amqp_url: str,
    *,
    since: datetime | None,
    follow: bool,
    idle_s: float,
    stop: threading.Event,
    tick_s: float = 0.5,
) -> Generator[bytes | None, None, None]:
    """Records from ``since`` (or the first one kept). Without ``follow`` it ends once the
    stream has been quiet for ``idle_s``; with it, it runs until ``stop`` is set and
    reconnects after a lost connection, resuming after the last record it yielded."""
    offset: Any = since if since is not None else "first"
    connected = threading.Event()
    while not stop.is_set():
        try:
            for offset_seen, body in _consume(amqp_url, offset, follow, idle_s, stop, tick_s, connected):
                if offset_seen is not None:
                    offset = offset_seen + 1
                yield body
            return
        except LOGIN_ERRORS as error:
            raise login_refused(amqp_url, error) from None
        except pika.exceptions.AMQPError as error:
            if stop.is_set():  # the connection was dropped because the reader was told to stop
                return
            if not (follow and connected.is_set()):
                raise StreamUnavailable(f"cannot read from the broker: {type(error).__name__}") from None
            log.warning("lost the broker; reconnecting", extra={"error": type(error).__name__})
            stop.wait(RECONNECT_DELAY_S)


def _consume(
    amqp_url: str,
    offset: Any,
    follow: bool,
    idle_s: float,
    stop: threading.Event,
    tick_s: float,
    connected: threading.Event,
) -> Iterator[tuple[int | None, bytes | None]]:
    parameters = pika.URLParameters(amqp_url)
    parameters.client_properties = {"connection_name": "slack-fanout verdict"}
    connection = pika.BlockingConnection(parameters)
    try:
        with answered_within(connection, ANSWER_TIMEOUT_S, given_up=stop.is_set):
            channel = _stream_channel(connection)
            connected.set()
            quiet_since = time.monotonic()
            deliveries = channel.consume(
                BEHAVIOUR_STREAM, arguments={"x-stream-offset": offset}, inactivity_timeout=tick_s
            )
            first = next(deliveries)  # the consume is sent, and answered, on the first step
        for method, properties, body in itertools.chain([first], deliveries):
            if stop.is_set():
                return
            if method is None:
                if not follow and time.monotonic() - quiet_since >= idle_s:
                    return
                yield None, None
                continue
            quiet_since = time.monotonic()
            yield _stream_offset(properties), body
            channel.basic_ack(method.delivery_tag)
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError):  # a lost connection cannot close cleanly
            if connection.is_open:
                with answered_within(connection, ANSWER_TIMEOUT_S, given_up=stop.is_set):
                    connection.close()


def _stream_channel(connection: pika.BlockingConnection) -> BlockingChannel:
    """A channel that found the stream, with the prefetch the broker requires to read one."""
    channel = connection.channel()
    try:
        channel.queue_declare(BEHAVIOUR_STREAM, passive=True)
    except pika.exceptions.ChannelClosedByBroker as error:
        raise NoBehaviourStream(
            f"cannot read the stream {BEHAVIOUR_STREAM!r} ({error.reply_text}): "
            "has a consumer published a behaviour record yet?"
        ) from None
    channel.basic_qos(prefetch_count=PREFETCH)
    return channel


def _stream_offset(properties: pika.BasicProperties) -> int | None:
    headers = properties.headers or {}
    value = headers.get("x-stream-offset")
    return value if isinstance(value, int) else None
