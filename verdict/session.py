"""A comparison session: record bytes in, verdict out, readable by the page and the metrics while
records still arrive (every method takes one lock).

The join's clock is the wall clock: an envelope is judged once its sides are final or
``join_timeout`` after the gateway received it. When the input ends, envelopes still
inside their timeout stay *pending*: left out of the verdict rather than called missing,
since their records may simply not be written yet.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from slack_fanout.behaviour import BehaviourRecord
from verdict.compare import Comparison, compare
from verdict.join import Joined, Joiner, Roles
from verdict.normalize import normalize
from verdict.report import Tally, Verdict
from verdict.rules import Rules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One request kept whole for the page: its records and both comparisons."""

    joined: Joined
    comparison: Comparison | None
    noise: Comparison | None


class Session:
    def __init__(
        self,
        roles: Roles,
        rules: Rules,
        join_timeout: timedelta,
        since: datetime | None = None,
        samples_per_field: int = 3,
    ) -> None:
        self.roles = roles
        self.rules = rules
        self.since = since
        self.samples_per_field = samples_per_field
        self._joiner = Joiner(roles, join_timeout)
        self._tally = Tally(roles, samples_per_field)
        self._samples: dict[str, Sample] = {}
        self._kept: Counter[tuple[str, str]] = Counter()
        self._records = Counter[str]()
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        """Take one record as published; an unreadable one is counted and skipped."""
        try:
            record = BehaviourRecord.decode(data)
        except ValidationError as error:
            log.warning("unreadable behaviour record skipped", extra={"error": error.errors()[0]["msg"]})
            with self._lock:
                self._records["unreadable"] += 1
            return
        with self._lock:
            self._records["read"] += 1
            if self.since is not None and record.received_at < self.since:
                self._records["before_window"] += 1
                return
            joined = self._joiner.add(record)
            if joined is not None:
                self._judge(joined)

    def expire(self, now: datetime | None = None) -> None:
        """Judge every envelope whose join timeout has passed."""
        with self._lock:
            for joined in self._joiner.expire(now or datetime.now(UTC)):
                self._judge(joined)

    def verdict(self) -> Verdict:
        with self._lock:
            records = {**self._records, "late": self._joiner.late, "pending": self._joiner.pending}
            return self._tally.verdict(self.rules.thresholds, records)

    def sample(self, envelope_id: str) -> Sample | None:
        with self._lock:
            return self._samples.get(envelope_id)

    def samples(self, endpoint: str) -> list[Sample]:
        with self._lock:
            return [sample for sample in self._samples.values() if sample.joined.endpoint == endpoint]

    def _judge(self, joined: Joined) -> None:
        comparison = noise = None
        if joined.primary is not None:
            primary = normalize(joined.primary)
            if joined.candidate is not None:
                comparison = compare(primary, normalize(joined.candidate), self.rules)
            if joined.secondary is not None:
                noise = compare(primary, normalize(joined.secondary), self.rules)
        self._tally.add(joined, comparison, noise)
        self._keep(Sample(joined, comparison, noise))

    def _keep(self, sample: Sample) -> None:
        """Keep the first few requests of each differing field and of each category, no more."""
        comparison = sample.comparison
        keys = {"missing"} if comparison is None else set(comparison.fields) or {"matched"}
        endpoint = sample.joined.endpoint
        wanted = [key for key in keys if self._kept[endpoint, key] < self.samples_per_field]
        if wanted:
            self._kept.update((endpoint, key) for key in wanted)
            self._samples[sample.joined.envelope_id] = sample
