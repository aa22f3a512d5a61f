"""Which archived requests a replay copies: a window of time, kinds and endpoints. Pure: no broker here.

The window is fixed when the command starts, so a replay has an end even while Slack keeps
sending requests; its tally is what the progress display and the summary report.
"""

from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from slack_fanout.behaviour import endpoint_key
from slack_fanout.envelope import Envelope, Kind

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class InvalidWindow(ValueError):
    """A ``--since`` or ``--until`` that is neither a duration nor a timestamp, or an empty window."""


def instant(text: str, now: datetime) -> datetime:
    """``2h`` (that long before ``now``; also ``s``, ``m``, ``d``) or ISO 8601 (UTC if without a zone)."""
    if duration := _DURATION.fullmatch(text):
        amount, unit = duration.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidWindow(
            f"{text!r} is neither a duration (30m, 2h, 1d) nor an ISO 8601 timestamp"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, since: str, until: str | None, now: datetime) -> Window:
        window = cls(instant(since, now), instant(until, now) if until else now)
        if window.start >= window.end:
            raise InvalidWindow(f"--since {since} is not before --until {until or 'now'}")
        return window

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end

    def covered(self, moment: datetime) -> float:
        """How much of the window lies before ``moment``, 0 to 1: the progress bar's position."""
        done = (moment - self.start) / (self.end - self.start)
        return min(max(done, 0.0), 1.0)


@dataclass(frozen=True)
class Selection:
    """The requests of the window, of any of ``kinds`` and ``endpoints`` (none given: all)."""

    window: Window
    kinds: frozenset[Kind] = frozenset()
    endpoints: tuple[str, ...] = ()
    """``endpoint_key`` patterns with shell wildcards: ``command:/deploy``, ``event:*``."""

    def matches(self, envelope: Envelope) -> bool:
        if envelope.received_at not in self.window:
            return False
        if self.kinds and envelope.kind not in self.kinds:
            return False
        key = endpoint_key(envelope)
        return not self.endpoints or any(fnmatch.fnmatchcase(key, pattern) for pattern in self.endpoints)


@dataclass
class Tally:
    """Counts so far: every message read from the archive is either matched (then published) or skipped."""

    read: int = 0
    matched: int = 0
    published: int = 0
    skipped: int = 0
    at: datetime | None = None
    """The arrival time of the last request read: how far through the window the replay is."""
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        """Published per second since the start."""
        return self.published / max(time.monotonic() - self.started, 1e-6)

    def summary(self) -> str:
        return f"read {self.read}, matched {self.matched}, published {self.published}, skipped {self.skipped}"
