"""Each request's effect once per consumer: a ledger of what this consumer has already handled.

Duplicates come from two places: Slack sends an Events API event again when it thinks we
were slow (same ``event_id``, a new request and so a new envelope), and the broker delivers a
message again when a consumer died before acknowledging it (same envelope). The ledger
keys each request by its Slack identity and lives in a SQLite file, so it survives a
consumer restart. It is per consumer process and host: instances of one consumer that
share its queue must share the file's directory (a volume), or accept rare duplicates.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from slack_fanout.envelope import Envelope

RETENTION_SECONDS = 24 * 3600
"""Longer than Slack's retries (minutes) and the runtime's retry schedule (about 13 minutes)."""


def identity(envelope: Envelope) -> str:
    """The same for every copy of one Slack request, whatever Slack or the broker repeated."""
    return f"event:{envelope.event_id}" if envelope.event_id else f"envelope:{envelope.id}"


class Ledger:
    """Thread-safe: handlers may run on several threads (``CONSUMER_CONCURRENCY``)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Survives a crash of the consumer (what it wrote, the kernel has), not of the machine: no
        # fsync at all, not even at checkpoints, which waited behind the broker's own on a shared disk.
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE IF NOT EXISTS handled (key TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._db.execute("DELETE FROM handled WHERE at < ?", (time.time() - RETENTION_SECONDS,))

    def seen(self, key: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM handled WHERE key = ?", (key,)).fetchone() is not None

    def record(self, key: str) -> None:
        """Durable at once, the moment the handler returns (a write to the WAL, about 20 µs).

        Every moment between a handler's effect and this commit is one in which a consumer
        killed outright would run the request again once the broker delivers it anew; holding
        the key until the batch's acknowledgement made that window milliseconds long.
        """
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO handled (key, at) VALUES (?, ?)", (key, time.time()))

    def close(self) -> None:
        with self._lock:
            self._db.close()
