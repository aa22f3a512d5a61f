"""The tally of joined requests per endpoint, and the verdict drawn from it.

Each joined request lands in one category:

- **missing**: the primary's or the candidate's record never came (within the join timeout);
- **failed**: either side's last attempt failed or was dead-lettered (its ``outcome`` and
  ``exceptions`` are still compared, so a candidate that fails where the primary did not
  is a difference in the field ``outcome``);
- **differing**: a field differs in a way ``verdict.noise`` judges significant;
- **matched**: everything else, differences that are noise included.

Which fields are significant depends on the counts of all requests, so the tally keeps,
per endpoint, how many requests showed each *set* of differing fields, and decides
matched or differing only when the verdict is drawn.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from slack_fanout.behaviour import BehaviourRecord, Outcome
from verdict.compare import Comparison
from verdict.join import Joined, Roles
from verdict.noise import judge
from verdict.rules import Thresholds

DURATIONS_KEPT = 10_000
"""Handling times kept per endpoint and side for the percentiles: the most recent ones."""


class Status(StrEnum):
    SAFE = "safe"
    DIFFERS = "differs"
    """At least one field differs significantly."""
    INCOMPLETE = "incomplete"
    """Records are missing beyond the threshold, or nothing was compared at all."""
    ESCAPED = "escaped"
    """The candidate opened a connection to Slack that the capture did not see."""


@dataclass(frozen=True)
class FieldSample:
    envelope_id: str
    primary: Any
    candidate: Any
    change: str


@dataclass(frozen=True)
class FieldVerdict:
    path: str
    raw: int
    noise: int
    relative: float
    absolute: float
    significant: bool
    samples: list[FieldSample]


@dataclass(frozen=True)
class Timing:
    count: int
    p50: float | None
    p99: float | None


@dataclass(frozen=True)
class Counts:
    """Requests by category (see the module's docstring), and the candidate's escapes."""

    joined: int
    matched: int
    differing: int
    missing: int
    failed: int
    escapes: int


@dataclass(frozen=True)
class EndpointVerdict(Counts):
    endpoint: str
    match_rate: float | None
    """matched / (matched + differing), in percent; None before anything was compared."""
    handling_ms: dict[str, Timing]
    fields: list[FieldVerdict]
    details: dict[str, int]
    """missing_primary, missing_candidate, failed_primary, failed_candidate, secondary_escapes."""


@dataclass(frozen=True)
class Verdict(Counts):
    status: Status
    primary: str
    candidate: str
    secondary: str | None
    thresholds: Thresholds
    endpoints: list[EndpointVerdict]
    records: dict[str, int]
    """Records read, unreadable, late (after their envelope's join), pending (not yet joined)."""


@dataclass
class _FieldTally:
    raw: int = 0
    noise: int = 0
    samples: list[FieldSample] = field(default_factory=list)


@dataclass
class _EndpointTally:
    joined: int = 0
    details: Counter[str] = field(default_factory=Counter)
    patterns: Counter[frozenset[str]] = field(default_factory=Counter)
    fields: dict[str, _FieldTally] = field(default_factory=dict)
    durations: dict[str, deque[float]] = field(default_factory=dict)


class Tally:
    def __init__(self, roles: Roles, samples_per_field: int = 3) -> None:
        self.roles = roles
        self.samples_per_field = samples_per_field
        self._endpoints: dict[str, _EndpointTally] = {}

    def add(self, joined: Joined, comparison: Comparison | None, noise: Comparison | None) -> None:
        """Count one joined request; ``comparison`` is candidate vs primary, ``noise`` secondary vs
        primary (None where a side is missing)."""
        tally = self._endpoints.setdefault(joined.endpoint, _EndpointTally())
        tally.joined += 1
        self._count_sides(tally, joined)
        if comparison is None:
            tally.details["missing_primary" if joined.primary is None else "missing_candidate"] += 1
            return
        for row in comparison.differences:
            counted = tally.fields.setdefault(row.path, _FieldTally())
            counted.raw += 1
            if len(counted.samples) < self.samples_per_field:
                counted.samples.append(
                    FieldSample(joined.envelope_id, row.primary, row.other, str(row.change))
                )
        for path in noise.fields if noise is not None else ():
            tally.fields.setdefault(path, _FieldTally()).noise += 1
        failed = [side for side, record in self._sides(joined) if side != "secondary" and _failed(record)]
        if failed:
            tally.details.update(f"failed_{side}" for side in failed)
            tally.details["failed"] += 1
            return
        tally.patterns[comparison.fields] += 1

    def verdict(self, thresholds: Thresholds, records: dict[str, int]) -> Verdict:
        endpoints = [
            self._endpoint(name, tally, thresholds) for name, tally in sorted(self._endpoints.items())
        ]
        totals = {key: sum(getattr(e, key) for e in endpoints) for key in _COUNTS}
        return Verdict(
            status=_status(endpoints, totals, thresholds),
            primary=self.roles.primary,
            candidate=self.roles.candidate,
            secondary=self.roles.secondary,
            thresholds=thresholds,
            endpoints=endpoints,
            records=records,
            **totals,
        )

    def _count_sides(self, tally: _EndpointTally, joined: Joined) -> None:
        for side, record in self._sides(joined):
            tally.durations.setdefault(side, deque(maxlen=DURATIONS_KEPT)).append(record.duration_ms)
        if joined.candidate is not None:
            tally.details["escapes"] += len(joined.candidate.escapes)
        if joined.secondary is not None:
            tally.details["secondary_escapes"] += len(joined.secondary.escapes)

    @staticmethod
    def _sides(joined: Joined) -> list[tuple[str, BehaviourRecord]]:
        sides = (
            ("primary", joined.primary),
            ("candidate", joined.candidate),
            ("secondary", joined.secondary),
        )
        return [(side, record) for side, record in sides if record is not None]

    def _endpoint(self, name: str, tally: _EndpointTally, thresholds: Thresholds) -> EndpointVerdict:
        compared = tally.joined - tally.details["missing_primary"] - tally.details["missing_candidate"]
        judged = {path: judge(f.raw, f.noise, compared, thresholds) for path, f in tally.fields.items()}
        significant = {path for path, judgement in judged.items() if judgement.significant}
        differing = sum(count for pattern, count in tally.patterns.items() if pattern & significant)
        matched = sum(tally.patterns.values()) - differing
        fields = [
            FieldVerdict(
                path, j.raw, j.noise, j.relative, j.absolute, j.significant, tally.fields[path].samples
            )
            for path, j in judged.items()
            if j.raw
        ]
        fields.sort(key=lambda f: (not f.significant, -f.raw, f.path))
        return EndpointVerdict(
            endpoint=name,
            joined=tally.joined,
            matched=matched,
            differing=differing,
            missing=tally.details["missing_primary"] + tally.details["missing_candidate"],
            failed=tally.details["failed"],
            escapes=tally.details["escapes"],
            match_rate=round(matched / (matched + differing) * 100, 2) if matched + differing else None,
            handling_ms={side: _timing(times) for side, times in sorted(tally.durations.items())},
            fields=fields,
            details={key: tally.details[key] for key in _DETAILS},
        )


_COUNTS = tuple(f.name for f in fields(Counts))
_DETAILS = ("missing_primary", "missing_candidate", "failed_primary", "failed_candidate", "secondary_escapes")


def _failed(record: BehaviourRecord) -> bool:
    return record.outcome in (Outcome.FAILED, Outcome.DEAD_LETTERED)


def _status(endpoints: list[EndpointVerdict], totals: dict[str, int], thresholds: Thresholds) -> Status:
    if totals["escapes"]:
        return Status.ESCAPED
    if totals["joined"] == 0 or totals["missing"] * 100 > thresholds.missing * totals["joined"]:
        return Status.INCOMPLETE
    if any(f.significant for endpoint in endpoints for f in endpoint.fields):
        return Status.DIFFERS
    return Status.SAFE


def _timing(durations: deque[float]) -> Timing:
    ordered = sorted(durations)
    return Timing(len(ordered), _percentile(ordered, 50), _percentile(ordered, 99))


def _percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest rank: the smallest value with at least ``percent`` of the values at or below it."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * percent // 100))
    return round(ordered[int(rank) - 1], 2)
