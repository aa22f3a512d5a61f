"""The hand-over of publishes from the request threads to the publisher's I/O thread.

No pika here. Request threads ``put`` a message and wait on its ``PendingConfirm``; the I/O
thread takes every message queued since its last wake-up in one ``drain``, so one wake-up
serves a whole batch. The outbox takes messages only while the link is up (``open`` and
``shut``), and no more than ``limit`` at a time per process, so that overload is shed at once
with a 503 instead of queueing where no deadline sees it.
"""

from __future__ import annotations

import threading
from collections import deque

import pika

from gateway.confirms import PendingConfirm
from gateway.errors import BrokerUnreachable, GatewayOverloaded, PublishFailed

Message = tuple[PendingConfirm, bytes, pika.BasicProperties]


class Outbox:
    """Thread-safe. Shut until the link is first ready."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._messages: deque[Message] = deque()
        self._accepting = False
        self._drain_scheduled = False
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Messages put and not yet ``done``: queued, or sent and awaiting their confirm."""
        return self._in_flight

    def put(self, message: Message) -> bool:
        """Queue ``message``; whether the caller must wake the I/O thread to drain the outbox.

        Raises ``BrokerUnreachable`` while shut and ``GatewayOverloaded`` at the limit. Each
        successful ``put`` is paired with a ``done`` once its caller stops waiting.
        """
        with self._lock:
            if not self._accepting:
                raise BrokerUnreachable("the broker connection was lost")
            if self._in_flight >= self._limit:
                raise GatewayOverloaded(f"{self._in_flight} publishes already await confirms")
            self._in_flight += 1
            self._messages.append(message)
            wake, self._drain_scheduled = not self._drain_scheduled, True
            return wake

    def done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def drain(self) -> list[Message]:
        """On the I/O thread: every message queued since the last drain."""
        with self._lock:
            batch = list(self._messages)
            self._messages.clear()
            self._drain_scheduled = False
            return batch

    def open(self) -> None:
        with self._lock:
            self._accepting = True

    def shut(self, error: PublishFailed) -> None:
        """Take no more messages, and fail those still queued with ``error``."""
        with self._lock:
            self._accepting = False
            for pending, _body, _properties in self._messages:
                pending.resolve(error)
            self._messages.clear()
            self._drain_scheduled = False
