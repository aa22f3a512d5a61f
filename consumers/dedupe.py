"""Each request's effect once per consumer: a ledger of what this consumer has already handled.

Duplicates come from two places: Slack sends an Events API event again when it thinks we
were slow (same ``event_id``, a new request and so a new envelope), and the broker delivers a
message again when a consumer died before acknowledging it (same envelope). The ledger
keys each request by its Slack identity and lives in a SQLite file, so it survives a
consumer restart. It is per consumer process and host: instances of one consumer that
share its queue must share the file's directory (a volume), or accept rare duplicates.

A request goes into the ledger the moment its handler returns: one line appended to this
process's journal beside the file (one ``write``, microseconds). Each batch of them is
committed to SQLite before its messages are acknowledged, and the journal emptied. A
consumer killed in between leaves its journal behind, locked by no one; the next instance
to open the ledger moves it into SQLite first. (A SQLite transaction per message instead
cost a no-op consumer about 100 µs of CPU a message.)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
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
        self._pending: dict[str, float] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Survives a crash of the consumer, not of the machine: no fsync on every message.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS handled (key TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._db.execute("DELETE FROM handled WHERE at < ?", (time.time() - RETENTION_SECONDS,))
        for orphan in path.parent.glob(f"{path.name}.*.journal"):
            self._adopt(orphan)
        self._journal_path = path.with_name(f"{path.name}.{uuid.uuid4().hex}.journal")
        self._journal = os.open(self._journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._journal, fcntl.LOCK_EX)  # alive: no other instance adopts it

    def seen(self, key: str) -> bool:
        with self._lock:
            if key in self._pending:
                return True
            return self._db.execute("SELECT 1 FROM handled WHERE key = ?", (key,)).fetchone() is not None

    def record(self, key: str) -> None:
        """In the journal at once; in SQLite with the next ``commit``, one transaction per batch."""
        at = time.time()
        with self._lock:
            self._pending[key] = at
            os.write(self._journal, json.dumps([key, at]).encode() + b"\n")

    def commit(self) -> None:
        """Move the recorded keys into SQLite; the runtime calls it before acknowledging their messages."""
        with self._lock:
            if not self._pending:
                return
            self._insert(self._pending.items())
            self._pending.clear()
            os.ftruncate(self._journal, 0)

    def close(self) -> None:
        self.commit()
        with self._lock:
            self._db.close()
            os.close(self._journal)
            self._journal_path.unlink(missing_ok=True)

    def _insert(self, entries: Iterable[tuple[str, float]]) -> None:
        with self._db:  # commits the transaction, or rolls it back on an error
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR IGNORE INTO handled (key, at) VALUES (?, ?)", entries)

    def _adopt(self, journal: Path) -> None:
        """Move a journal into SQLite and remove it, unless a live instance still holds it."""
        with contextlib.suppress(FileNotFoundError), open(journal, "rb") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another instance of this consumer is running and writing it
            self._insert(_journal_entries(file.read()))
            journal.unlink()


def _journal_entries(journal: bytes) -> list[tuple[str, float]]:
    """(key, time) of each whole line; a line cut short by the kill that ended its writer is skipped."""
    entries = []
    for line in journal.splitlines():
        with contextlib.suppress(ValueError):
            key, at = json.loads(line)
            entries.append((str(key), float(at)))
    return entries
