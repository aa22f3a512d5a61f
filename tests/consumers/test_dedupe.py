"""Specification of the dedupe ledger: one effect per Slack request, across restarts."""

import signal
import subprocess
import sys
from pathlib import Path

from consumers.dedupe import Ledger, identity
from testbed.envelopes import an_envelope
from testbed.processes import REPO


def test_slack_retries_of_one_event_share_an_identity() -> None:
    first = an_envelope().model_copy(update={"payload": {"event_id": "Ev1"}})
    retry = an_envelope().model_copy(update={"payload": {"event_id": "Ev1"}})
    assert first.id != retry.id
    assert identity(first) == identity(retry) == "event:Ev1"


def test_requests_without_an_event_id_are_identified_by_their_envelope() -> None:
    envelope = an_envelope()
    assert identity(envelope) == f"envelope:{envelope.id}"
    assert identity(an_envelope()) != identity(envelope)


def test_what_was_handled_is_remembered_across_a_restart(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "audit.sqlite3")
    assert not ledger.seen("event:Ev1")
    ledger.record("event:Ev1")
    ledger.record("event:Ev1")
    ledger.close()
    reopened = Ledger(tmp_path / "audit.sqlite3")
    assert reopened.seen("event:Ev1")
    assert not reopened.seen("event:Ev2")


KILLED_RIGHT_AFTER_RECORDING = """
import os, signal, sys
from pathlib import Path
from consumers.dedupe import Ledger
ledger = Ledger(Path(sys.argv[1]))
ledger.record("envelope:handled-just-now")
os.kill(os.getpid(), signal.SIGKILL)  # before any commit: as a consumer killed before its ack
"""


def test_a_request_recorded_just_before_the_consumer_is_killed_is_seen_after_its_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.sqlite3"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RIGHT_AFTER_RECORDING, str(path)], cwd=REPO, check=False
    )
    assert killed.returncode == -signal.SIGKILL

    restarted = Ledger(path)
    assert restarted.seen("envelope:handled-just-now")
    restarted.close()
    assert list(tmp_path.glob("*.journal")) == [], "the adopted journal and the closed one are gone"


def test_a_running_instance_keeps_its_journal(tmp_path: Path) -> None:
    """Two instances of one consumer share the directory: neither takes the other's journal."""
    running = Ledger(tmp_path / "audit.sqlite3")
    running.record("envelope:in-hand")
    second = Ledger(tmp_path / "audit.sqlite3")
    assert len(list(tmp_path.glob("*.journal"))) == 2
    running.commit()
    assert second.seen("envelope:in-hand")
    running.close()
    second.close()


def test_a_line_cut_short_in_an_orphaned_journal_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "audit.sqlite3.dead.journal").write_bytes(b'["envelope:whole", 1.5]\n["envelope:cu')
    ledger = Ledger(tmp_path / "audit.sqlite3")
    assert ledger.seen("envelope:whole")
    assert not ledger.seen("envelope:cu")
    ledger.close()
