"""The join: the records of one envelope from the primary, the candidate and the secondary.

A side is *final* once its record's outcome is anything but ``failed``: a failed handler
is retried, and the retry publishes a newer record that replaces the older one. An
envelope is complete when every side is final, or when ``timeout`` has passed since the
gateway received it; a side still without a record then is missing, one whose last
record failed is failed. The clock is the caller's: the wall clock while following the
stream, the newest record's time while reading a window or a file, so a file read today
joins exactly as the stream did then.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_fanout.behaviour import BehaviourRecord, Outcome

REMEMBERED_ENVELOPES = 100_000
"""Joined envelope ids kept to recognize a record that arrives after its join (a late retry)."""


@dataclass(frozen=True)
class Roles:
    """Which consumer plays which part; the secondary is optional."""

    primary: str
    candidate: str
    secondary: str | None = None

    def __post_init__(self) -> None:
        names = [name for name in (self.primary, self.candidate, self.secondary) if name is not None]
        if len(set(names)) != len(names):
            raise ValueError(f"primary, candidate and secondary must be different consumers, not {names}")


@dataclass(frozen=True)
class Joined:
    envelope_id: str
    endpoint: str
    received_at: datetime
    primary: BehaviourRecord | None
    candidate: BehaviourRecord | None
    secondary: BehaviourRecord | None


@dataclass
class _Pending:
    received_at: datetime
    records: dict[str, BehaviourRecord] = field(default_factory=dict)


class Joiner:
    def __init__(self, roles: Roles, timeout: timedelta) -> None:
        self.roles = roles
        self.timeout = timeout
        self.late = 0
        """Records of envelopes already joined: a retry that settled after the timeout."""
        self._pending: dict[str, _Pending] = {}
        self._joined: OrderedDict[str, None] = OrderedDict()
        self._consumers = {roles.primary, roles.candidate} | ({roles.secondary} if roles.secondary else set())

    def add(self, record: BehaviourRecord) -> Joined | None:
        """Take one record; returns its envelope's join when this record completes it."""
        if record.consumer not in self._consumers:
            return None
        if record.envelope_id in self._joined:
            self.late += 1
            return None
        pending = self._pending.setdefault(record.envelope_id, _Pending(record.received_at))
        held = pending.records.get(record.consumer)
        if held is None or _replaces(record, held):
            pending.records[record.consumer] = record
        if all(_final(pending.records.get(name)) for name in self._consumers):
            return self._complete(record.envelope_id)
        return None

    def expire(self, now: datetime) -> list[Joined]:
        """Joins of every envelope received more than ``timeout`` before ``now``."""
        due = [key for key, pending in self._pending.items() if pending.received_at + self.timeout <= now]
        return [self._complete(key) for key in due]

    def drain(self) -> list[Joined]:
        """Joins of everything pending: the input has ended."""
        return [self._complete(key) for key in list(self._pending)]

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _complete(self, envelope_id: str) -> Joined:
        records = self._pending.pop(envelope_id).records
        self._joined[envelope_id] = None
        if len(self._joined) > REMEMBERED_ENVELOPES:
            self._joined.popitem(last=False)
        first = next(iter(records.values()))
        return Joined(
            envelope_id=envelope_id,
            endpoint=first.endpoint,
            received_at=first.received_at,
            primary=records.get(self.roles.primary),
            candidate=records.get(self.roles.candidate),
            secondary=records.get(self.roles.secondary) if self.roles.secondary else None,
        )


def _final(record: BehaviourRecord | None) -> bool:
    return record is not None and record.outcome is not Outcome.FAILED


def _replaces(new: BehaviourRecord, held: BehaviourRecord) -> bool:
    """A later attempt replaces an earlier one, except that a redelivery skipped as a duplicate
    never hides the attempt that did the work."""
    return not (new.outcome is Outcome.DUPLICATE_SKIPPED and _final(held))
