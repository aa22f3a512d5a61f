"""Where a message that was not handled goes next (a retry queue after a delay, or the dead letters),
and what its copy carries.

Pure policy: the runtime publishes the copy to the home this module names, through the
consumer's retry exchange (``topology.retry_exchange``), and acknowledges the original only
once the broker has confirmed the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consumers.dispatch import Outcome
from slack_fanout import topology

RETRIES_HEADER = "x-slack-fanout-retries"
"""Retries this consumer has already made of a message: per-consumer state, so it lives in a header
of the consumer's own copy, never in the body every consumer shares."""

ERROR_HEADER = "x-slack-fanout-error"
"""Why the last attempt failed, on the consumer's retried and dead-lettered copies."""


@dataclass(frozen=True)
class Home:
    """The queue a copy is published to (its name is the routing key), and the wait it starts."""

    queue: str
    delay_ms: int | None
    """``None``: the dead-letter queue, where a message waits for an operator, not a retry."""

    @property
    def is_retry(self) -> bool:
        return self.delay_ms is not None


def next_home(name: str, outcome: Outcome, retries_made: int, delays_ms: tuple[int, ...]) -> Home:
    """The home of consumer ``name``'s copy of a message whose attempt ended in ``outcome``.

    ``retries_made`` is how many retries of it came before this attempt. A failure waits
    for the schedule's next delay; after the last one, and for a message that can never be
    handled (``Outcome.DEAD_LETTER``), the copy goes to the dead-letter queue.
    """
    if outcome is Outcome.ACK:
        raise ValueError("a handled message has no next home: it is acknowledged")
    if outcome is Outcome.RETRY and retries_made < len(delays_ms):
        delay = delays_ms[retries_made]
        return Home(topology.retry_queue(name, delay), delay)
    return Home(topology.dead_letter_queue(name), None)


def retries_left(retries_made: int, delays_ms: tuple[int, ...]) -> int:
    """Retries still to come if the attempt after ``retries_made`` retries fails; 0: it is the last."""
    return max(len(delays_ms) - retries_made, 0)


def retries_made(headers: dict[str, Any] | None) -> int:
    """The count a copy carries (``RETRIES_HEADER``); 0 for a first delivery or a header not ours."""
    value = (headers or {}).get(RETRIES_HEADER, 0)
    return value if isinstance(value, int) and value >= 0 else 0


DELIVERY_COUNT_HEADER = "x-delivery-count"
"""The quorum queue's count of earlier deliveries of a message that were not settled."""


def last_delivery(headers: dict[str, Any] | None) -> bool:
    """Whether the queue will drop this message if this delivery is not settled either: it went
    unsettled ``topology.DELIVERY_LIMIT`` times before (the consumer crashed or stopped on it)."""
    value = (headers or {}).get(DELIVERY_COUNT_HEADER, 0)
    return isinstance(value, int) and value >= topology.DELIVERY_LIMIT


def copy_headers(headers: dict[str, Any] | None, retries_made: int, error: str | None) -> dict[str, Any]:
    """The headers of the copy parked after a failed attempt: the original's, the count one up and
    the error. Without the broker's ``x-delivery-count``, which belongs to the original's queue."""
    copied = {**(headers or {}), RETRIES_HEADER: retries_made + 1, ERROR_HEADER: error}
    copied.pop(DELIVERY_COUNT_HEADER, None)
    return copied
