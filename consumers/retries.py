"""Where a message that was not handled goes next: a retry queue after a delay, or the dead letters.

Pure policy: the runtime publishes the copy to the home this module names, through the
consumer's retry exchange (``topology.retry_exchange``), and acknowledges the original only
once the broker has confirmed the copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from consumers.dispatch import Outcome
from slack_fanout import topology


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
