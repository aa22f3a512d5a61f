"""The join waits for every side's final record, or for the timeout, and no longer."""

from __future__ import annotations

from datetime import timedelta

from slack_fanout.behaviour import Outcome
from testbed.records import RECEIVED_AT, a_record
from verdict.join import Joiner, Roles

TIMEOUT = timedelta(seconds=60)


def test_an_envelope_joins_as_soon_as_primary_and_candidate_are_final() -> None:
    joiner = Joiner(Roles("primary", "shadow"), TIMEOUT)

    assert joiner.add(a_record("primary")) is None
    joined = joiner.add(a_record("shadow"))

    assert joined is not None and joined.primary is not None and joined.candidate is not None
    assert joiner.pending == 0


def test_with_a_secondary_the_join_waits_for_it_too() -> None:
    joiner = Joiner(Roles("primary", "shadow", "shadow-control"), TIMEOUT)

    assert joiner.add(a_record("primary")) is None
    assert joiner.add(a_record("shadow")) is None
    joined = joiner.add(a_record("shadow-control"))

    assert joined is not None and joined.secondary is not None


def test_a_failed_attempt_waits_for_its_retry_which_replaces_it() -> None:
    joiner = Joiner(Roles("primary", "shadow"), TIMEOUT)
    joiner.add(a_record("primary"))

    assert joiner.add(a_record("shadow", outcome=Outcome.FAILED)) is None
    joined = joiner.add(a_record("shadow", outcome=Outcome.HANDLED))

    assert joined is not None and joined.candidate is not None
    assert joined.candidate.outcome is Outcome.HANDLED


def test_after_the_timeout_a_side_without_a_record_is_missing_and_a_failed_one_stays_failed() -> None:
    joiner = Joiner(Roles("primary", "shadow"), TIMEOUT)
    joiner.add(a_record("primary", envelope_id="alone"))
    joiner.add(a_record("primary", envelope_id="retrying"))
    joiner.add(a_record("shadow", envelope_id="retrying", outcome=Outcome.FAILED))

    assert joiner.expire(RECEIVED_AT + TIMEOUT - timedelta(seconds=1)) == []
    joined = {j.envelope_id: j for j in joiner.expire(RECEIVED_AT + TIMEOUT)}

    assert joined["alone"].candidate is None
    retried = joined["retrying"].candidate
    assert retried is not None and retried.outcome is Outcome.FAILED


def test_a_record_after_its_envelope_was_joined_is_counted_late_not_joined_twice() -> None:
    joiner = Joiner(Roles("primary", "shadow"), TIMEOUT)
    joiner.add(a_record("primary"))
    joiner.expire(RECEIVED_AT + TIMEOUT)

    assert joiner.add(a_record("shadow")) is None
    assert joiner.late == 1


def test_a_redelivery_skipped_as_duplicate_never_hides_the_attempt_that_did_the_work() -> None:
    joiner = Joiner(Roles("primary", "shadow", "shadow-control"), TIMEOUT)
    joiner.add(a_record("shadow"))
    joiner.add(a_record("shadow", outcome=Outcome.DUPLICATE_SKIPPED))
    joiner.add(a_record("primary"))
    [joined] = joiner.drain()

    assert joined.candidate is not None and joined.candidate.outcome is Outcome.HANDLED


def test_records_of_other_consumers_are_ignored() -> None:
    joiner = Joiner(Roles("primary", "shadow"), TIMEOUT)

    assert joiner.add(a_record("audit")) is None
    assert joiner.pending == 0
