"""Which delivered messages may be acknowledged now: in delivery order, in batches, after their records.

Pure bookkeeping for the runtime's session, which owns the channel. Outcomes settle in any
order (several handler threads), but one ``basic.ack`` with ``multiple`` covers every message
up to a tag, so only the longest settled run from the oldest unacknowledged message may go.
A batch falls due once half the prefetch window is settled or ``delay`` seconds after the
first settlement, whichever comes first: one ledger commit and one ack serve the whole batch.
A message with a behaviour record waits, and holds up those after it, until the record is
confirmed: an acknowledged request always has its record.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

ACK_DELAY = 0.005
"""Seconds a settled message may wait for others to share its ack (and its ledger commit)."""


class AckWindow:
    """The delivery tags of one channel not yet acknowledged, and which of them are settled."""

    def __init__(self, batch: int, delay: float = ACK_DELAY, clock: Callable[[], float] = time.monotonic):
        self._batch = max(batch, 1)
        self._delay = delay
        self._clock = clock
        self._unacked: collections.deque[int] = collections.deque()  # in delivery order
        self._settled: set[int] = set()
        self._record_of: dict[int, int] = {}  # delivery tag -> its record's publish sequence number
        self._first_settled_at: float | None = None

    def delivered(self, tag: int) -> None:
        self._unacked.append(tag)

    def settled(self, tag: int, record: int | None = None) -> None:
        """The message's outcome is carried out; ``record``: the sequence number of its record's publish."""
        self._settled.add(tag)
        if record is not None:
            self._record_of[tag] = record
        if self._first_settled_at is None:
            self._first_settled_at = self._clock()

    def wait_time(self, idle: float = 0.5) -> float:
        """How long the channel's thread may wait for events before the batch falls due."""
        if self._first_settled_at is None:
            return idle
        return max(self._first_settled_at + self._delay - self._clock(), 0)

    def is_due(self) -> bool:
        return self._first_settled_at is not None and (
            len(self._settled) >= self._batch or self.wait_time() == 0
        )

    def has_settled(self) -> bool:
        return self._first_settled_at is not None

    def take(self, is_confirmed: Callable[[int], bool]) -> int | None:
        """Remove and return the last tag of the run ready to ack (settled, its record confirmed);
        ``None`` when the oldest is not ready, and then the batch falls due again after ``delay``."""
        ready = 0
        for tag in self._unacked:
            record = self._record_of.get(tag)
            if tag not in self._settled or (record is not None and not is_confirmed(record)):
                break
            ready += 1
        last = None
        for _ in range(ready):
            last = self._unacked.popleft()
            self._settled.remove(last)
            self._record_of.pop(last, None)
        self._first_settled_at = self._clock() if self._settled else None
        return last
