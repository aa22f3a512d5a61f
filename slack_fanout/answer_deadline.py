"""A bound on how long a pika ``BlockingConnection`` waits for the broker to answer.

pika's blocking calls (``queue_declare``, ``basic_consume``, ``basic_cancel``, …) wait for the
broker's reply without a limit. A node that accepts connections but cannot answer keeps such a
call waiting: a node left without a majority of its cluster cannot act for its quorum queues
until the others are back, and answers only when its own internal timeout runs out, a minute
later. A consumer waiting there neither moves on to a node that can answer nor stops when told
to. Inside ``answered_within()``, the connection is dropped once the bound has passed, or at
once when the caller gives up, and the waiting call raises ``NoAnswer``.

Dropping the connection needs pika's private ``_terminate_stream``, the same call pika's own
heartbeat checker makes on a silent broker; ``tests/test_answer_deadline.py`` fails loudly when a
new pika moves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pika
from pika.exceptions import AMQPConnectionError

ANSWER_TIMEOUT_S = 10.0
"""How long a client's set-up (declarations, consume), its cancel and its close wait for the
broker's answers. A node without its cluster's majority accepts the connection but answers for
its quorum queues and streams only when its own timeout runs out, a minute later: past this
bound a consumer moves on to the next node instead of waiting there."""

CHECK_EVERY_S = 0.1
"""How often the bound and the caller's ``given_up`` are checked while a call waits."""


class NoAnswer(AMQPConnectionError):
    """The broker did not answer in time, or the caller gave up waiting: the connection is gone."""


@contextmanager
def answered_within(
    connection: pika.BlockingConnection, seconds: float, given_up: Callable[[], bool] = lambda: False
) -> Iterator[None]:
    """Every call inside must be answered within ``seconds`` of entering, or the connection is dropped.

    ``given_up`` is asked while a call waits: true (a stop was requested) drops the connection too.
    """
    impl = connection._impl  # the SelectConnection under the blocking one: its timers run during waits
    deadline = time.monotonic() + seconds
    timer: object | None = None

    def check() -> None:
        nonlocal timer
        timer = None
        if given_up():
            impl._terminate_stream(NoAnswer("gave up waiting for the broker's answer"))
        elif time.monotonic() >= deadline:
            impl._terminate_stream(NoAnswer(f"the broker did not answer within {seconds:g} s"))
        else:
            timer = impl.ioloop.call_later(CHECK_EVERY_S, check)

    timer = impl.ioloop.call_later(CHECK_EVERY_S, check)
    try:
        yield
    finally:
        if timer is not None:
            impl.ioloop.remove_timeout(timer)
