"""The verdict on records built by hand: the same code matches, and a modified candidate shows
exactly its differences, at the right endpoint and field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_fanout.behaviour import BehaviourRecord, Escape, Outcome
from testbed.records import (
    CONSUMERS,
    Build,
    a_record,
    deploy_handled,
    mention_handled,
    modified_candidate,
    records,
    same_code,
)
from verdict.join import Roles
from verdict.report import Status, Verdict
from verdict.rules import IgnoreRule, Rules, Thresholds
from verdict.session import Session

REQUESTS = 20


def judge(build: Build, rules: Rules | None = None, consumers: tuple[str, ...] = CONSUMERS) -> Verdict:
    secondary = "shadow-control" if "shadow-control" in consumers else None
    session = Session(Roles("primary", "shadow", secondary), rules or Rules(), timedelta(seconds=60))
    for record in records(build, REQUESTS, consumers):
        session.feed(record.encode())
    session.expire(datetime.now(UTC))
    return session.verdict()


def differences(verdict: Verdict) -> set[tuple[str, str]]:
    return {(e.endpoint, f.path) for e in verdict.endpoints for f in e.fields if f.significant}


def test_the_same_code_matches_every_request_and_every_difference_is_noise() -> None:
    verdict = judge(same_code)

    assert verdict.status is Status.SAFE
    assert (verdict.joined, verdict.matched) == (2 * REQUESTS, 2 * REQUESTS)
    assert all(e.match_rate == 100 for e in verdict.endpoints)
    fields = [f for e in verdict.endpoints for f in e.fields]
    assert fields and all(not f.significant and f.noise == f.raw for f in fields)


def test_a_modified_candidate_shows_exactly_its_three_differences() -> None:
    verdict = judge(modified_candidate)

    assert verdict.status is Status.DIFFERS
    assert differences(verdict) == {
        ("event:app_mention", "calls.chat.postMessage[0].arguments.text"),
        ("event:app_mention", "calls.chat.postMessage[+1]"),
        ("command:/deploy", "answer.body.text"),
    }
    deploy = next(e for e in verdict.endpoints if e.endpoint == "command:/deploy")
    [ack] = [f for f in deploy.fields if f.significant]
    assert (ack.raw, ack.noise) == (REQUESTS, 0)
    assert (ack.samples[0].primary, ack.samples[0].candidate) == ("Deploying api v2…", "On it!")


def test_without_a_secondary_the_same_code_still_matches_once_normalized() -> None:
    def deterministic(consumer: str, n: int) -> list[BehaviourRecord]:
        return [mention_handled(consumer, f"m{n}"), deploy_handled(consumer, f"d{n}")]

    verdict = judge(deterministic, consumers=("primary", "shadow"))

    assert verdict.status is Status.SAFE
    assert verdict.matched == verdict.joined == 2 * REQUESTS
    assert [f for e in verdict.endpoints for f in e.fields] == []


def test_without_a_secondary_the_noise_of_the_same_code_is_a_difference() -> None:
    verdict = judge(same_code, consumers=("primary", "shadow"))

    assert differences(verdict) == {("event:app_mention", "calls.chat.update[0].arguments.text")}


def test_an_ignore_rule_removes_a_field_from_the_verdict() -> None:
    rules = Rules(
        ignore=(IgnoreRule("command:*", "answer.body*"), IgnoreRule("*", "calls.chat.postMessage[+*]"))
    )

    verdict = judge(modified_candidate, rules)

    assert differences(verdict) == {("event:app_mention", "calls.chat.postMessage[0].arguments.text")}


def test_a_rare_difference_under_the_absolute_threshold_does_not_count() -> None:
    def once(consumer: str, n: int) -> list[BehaviourRecord]:
        return modified_candidate(consumer, n) if n == 0 else same_code(consumer, n)

    strict, lenient = judge(once), judge(once, Rules(Thresholds(absolute=10.0)))

    assert strict.status is Status.DIFFERS
    assert lenient.status is Status.SAFE and lenient.differing == 0


def test_a_candidate_that_fails_where_the_primary_handled_is_failed_and_differs_in_its_outcome() -> None:
    def crashing(consumer: str, n: int) -> list[BehaviourRecord]:
        if consumer != "shadow":
            return same_code(consumer, n)
        return [a_record("shadow", envelope_id=f"m{n}", outcome=Outcome.DEAD_LETTERED,
                         exceptions=["KeyError: 'user'"]), deploy_handled(consumer, f"d{n}")]  # fmt: skip

    verdict = judge(crashing)

    mention = next(e for e in verdict.endpoints if e.endpoint == "event:app_mention")
    assert mention.failed == REQUESTS and mention.details["failed_candidate"] == REQUESTS
    assert ("event:app_mention", "outcome") in differences(verdict)
    assert verdict.status is Status.DIFFERS


def test_missing_candidate_records_make_the_verdict_incomplete_unless_tolerated() -> None:
    def lagging(consumer: str, n: int) -> list[BehaviourRecord]:
        return [] if consumer == "shadow" and n == 0 else same_code(consumer, n)

    verdict = judge(lagging)

    assert verdict.status is Status.INCOMPLETE
    assert verdict.missing == 2 and verdict.endpoints[0].details["missing_candidate"] == 1
    assert judge(lagging, Rules(Thresholds(missing=5.0))).status is Status.SAFE


def test_any_escape_fails_the_candidate() -> None:
    def escaping(consumer: str, n: int) -> list[BehaviourRecord]:
        records = same_code(consumer, n)
        if consumer == "shadow" and n == 3:
            escape = Escape(host="slack.com", port=443, where="bot.py:12")
            records[0] = records[0].model_copy(update={"escapes": [escape]})
        return records

    verdict = judge(escaping)

    assert verdict.status is Status.ESCAPED and verdict.escapes == 1


def test_records_still_inside_their_timeout_stay_pending_not_missing() -> None:
    session = Session(Roles("primary", "shadow"), Rules(), timedelta(seconds=60))
    session.feed(a_record("primary", received_at=datetime.now(UTC)).encode())
    session.expire(datetime.now(UTC))

    verdict = session.verdict()

    assert verdict.joined == 0 and verdict.records["pending"] == 1
    assert verdict.status is Status.INCOMPLETE


def test_an_unreadable_record_is_counted_and_skipped() -> None:
    session = Session(Roles("primary", "shadow"), Rules(), timedelta(seconds=60))

    session.feed(b'{"not": "a record"}')

    assert session.verdict().records["unreadable"] == 1
