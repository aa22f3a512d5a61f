"""Comparison of two records of one envelope: every field, its two values, and whether they differ.

Both records are normalized first (``verdict.normalize``), then their calls aligned
(``verdict.align``). What is compared:

- ``outcome`` and ``exceptions[i]``, always;
- when both sides handled the request: the synchronous ``answer`` (``answer.status``,
  ``answer.content_type``, ``answer.body`` or, when it holds JSON, ``answer.body.<path>``)
  and each call's ``arguments`` (``calls.chat.postMessage[0].arguments.text``); a call
  only one side made is one field, ``calls.chat.postMessage[+1]`` (see ``Pair.label``).

What a call got back is not compared: the primary's answers come from Slack and the
shadow's are fakes, so they differ by construction. They are shown on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_fanout.behaviour import Outcome
from verdict.align import Pair, align
from verdict.normalize import Behaviour
from verdict.rules import Rules
from verdict.tree import flatten


class Change(StrEnum):
    CHANGED = "changed"
    ADDED = "added"
    """Only the second side (the candidate, or the secondary) has it."""
    REMOVED = "removed"
    """Only the first side (the primary) has it."""


@dataclass(frozen=True)
class Row:
    """One field of one request: its two normalized values; ``change`` is None when they are equal."""

    path: str
    primary: Any
    other: Any
    change: Change | None = None
    ignored: bool = False


@dataclass(frozen=True)
class Section:
    """The rows of one part of the behaviour: the outcome, the answer, or one pair of calls."""

    title: str
    rows: tuple[Row, ...]
    pair: Pair | None = None


@dataclass(frozen=True)
class Comparison:
    primary: Behaviour
    other: Behaviour
    sections: tuple[Section, ...]

    @property
    def differences(self) -> tuple[Row, ...]:
        return tuple(
            row for section in self.sections for row in section.rows if row.change and not row.ignored
        )

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(row.path for row in self.differences)


def compare(left: Behaviour, right: Behaviour, rules: Rules) -> Comparison:
    """Compare ``right`` (the candidate or the secondary) with ``left`` (the primary), field by
    field; both are normalized records (``verdict.normalize.normalize``)."""
    primary, other = left.record, right.record
    endpoint = primary.endpoint
    sections = [
        _section(
            "outcome",
            {"outcome": primary.outcome.value, **flatten(list(left.exceptions), "exceptions")},
            {"outcome": other.outcome.value, **flatten(list(right.exceptions), "exceptions")},
            endpoint,
            rules,
        )
    ]
    if primary.outcome is Outcome.HANDLED and other.outcome is Outcome.HANDLED:
        sections.append(_section("answer", flatten(left.answer, "answer"), flatten(right.answer, "answer"),
                                 endpoint, rules))  # fmt: skip
        sections.extend(_call_section(pair, endpoint, rules) for pair in align(left.calls, right.calls))
    return Comparison(left, right, tuple(sections))


def _call_section(pair: Pair, endpoint: str, rules: Rules) -> Section:
    prefix = f"calls.{pair.label}"
    if pair.primary is not None and pair.other is not None:
        section = _section(
            pair.label,
            flatten(pair.primary.arguments, f"{prefix}.arguments"),
            flatten(pair.other.arguments, f"{prefix}.arguments"),
            endpoint,
            rules,
        )
        return Section(section.title, section.rows, pair)
    present = pair.primary or pair.other
    assert present is not None
    removed = pair.primary is not None
    row = Row(
        path=prefix,
        primary=present.arguments if removed else None,
        other=None if removed else present.arguments,
        change=Change.REMOVED if removed else Change.ADDED,
        ignored=rules.ignored(endpoint, prefix),
    )
    return Section(pair.label, (row,), pair)


def _section(
    title: str, primary: dict[str, Any], other: dict[str, Any], endpoint: str, rules: Rules
) -> Section:
    rows = []
    for path in dict.fromkeys([*primary, *other]):
        left, right = primary.get(path), other.get(path)
        if path not in other:
            change: Change | None = Change.REMOVED
        elif path not in primary:
            change = Change.ADDED
        else:
            change = None if left == right else Change.CHANGED
        rows.append(Row(path, left, right, change, change is not None and rules.ignored(endpoint, path)))
    return Section(title, tuple(rows))
