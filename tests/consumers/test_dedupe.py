"""Specification of the dedupe ledger: one effect per Slack request, across restarts."""

from pathlib import Path

from consumers.dedupe import Ledger, identity
from tests.support.envelopes import an_envelope


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
