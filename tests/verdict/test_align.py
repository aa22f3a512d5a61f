"""Alignment pairs each call with its true counterpart, so one extra call shifts nothing."""

from __future__ import annotations

from testbed.records import CHANNEL, a_call, a_record
from verdict.align import align
from verdict.normalize import normalize


def calls(*texts: str, method: str = "chat.postMessage") -> list:
    return [a_call(method, channel=CHANNEL, text=text) for text in texts]


def aligned(primary: list, candidate: list) -> list[tuple[str | None, str | None]]:
    left = normalize(a_record("primary", calls=primary)).calls
    right = normalize(a_record("shadow", calls=candidate)).calls
    return [
        (
            pair.primary.arguments["text"] if pair.primary else None,
            pair.other.arguments["text"] if pair.other else None,
        )
        for pair in align(left, right)
    ]


def test_an_extra_call_first_does_not_shift_the_ones_after_it() -> None:
    pairs = aligned(calls("build started", "build done"),
                    calls("warming up", "build started", "build done"))  # fmt: skip

    assert pairs == [(None, "warming up"), ("build started", "build started"), ("build done", "build done")]


def test_a_changed_call_is_paired_with_its_counterpart_not_with_an_extra_one() -> None:
    pairs = aligned(calls("Deploying api v2"),
                    calls("Also: see the changelog", "Deploying api v2 now"))  # fmt: skip

    assert pairs == [(None, "Also: see the changelog"), ("Deploying api v2", "Deploying api v2 now")]


def test_calls_are_paired_only_within_their_method() -> None:
    primary = [*calls("a"), *calls("b", method="chat.update")]
    candidate = [*calls("b", method="chat.update"), *calls("a")]

    assert aligned(primary, candidate) == [("a", "a"), ("b", "b")]


def test_labels_name_the_primary_call_or_mark_a_call_only_the_candidate_made() -> None:
    left = normalize(a_record("primary", calls=calls("one"))).calls
    right = normalize(a_record("shadow", calls=calls("one", "two"))).calls

    assert [pair.label for pair in align(left, right)] == ["chat.postMessage[0]", "chat.postMessage[+1]"]
