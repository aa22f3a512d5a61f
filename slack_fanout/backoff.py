"""How long a client waits before it tries the broker (or Slack) again: doubling, capped.

Pure policy, shared by the gateway's publisher, the consumer runtime and the Socket Mode
ingress, so that all three back off alike and one test pins the schedule down.
"""

from __future__ import annotations


class Backoff:
    """``minimum``, twice that, four times … up to ``maximum``; back to the start once connected."""

    def __init__(self, minimum: float = 0.5, maximum: float = 30.0) -> None:
        self._minimum, self._maximum = minimum, maximum
        self._next = minimum

    def delay(self) -> float:
        """The wait before the next attempt; each call doubles the one after it."""
        delay, self._next = self._next, min(self._next * 2, self._maximum)
        return delay

    def reset(self) -> None:
        """A connection was established: the next failure waits the shortest time again."""
        self._next = self._minimum

    @property
    def longest(self) -> float:
        return self._maximum
