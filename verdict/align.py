"""Alignment: which call of the candidate answers which call of the primary.

Calls are paired only within their kind (target and method), so one extra
``chat.postMessage`` shifts nothing among the ``views.open`` calls. Within a kind the
pairing keeps both orders and maximizes the summed likeness of paired calls (an
order-preserving alignment, like a diff of lines): one extra call shows as one added
call, and the calls after it are still compared with their true counterparts.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from verdict.normalize import Call
from verdict.tree import flatten


@dataclass(frozen=True)
class Pair:
    """Two calls of one kind compared with each other, or a call only one side made."""

    target: str
    method: str
    primary: Call | None
    other: Call | None

    @property
    def label(self) -> str:
        """``chat.postMessage[0]`` for the primary's first; ``chat.postMessage[+1]`` for a call
        only the other side made (its second of that method)."""
        if self.primary is not None:
            return f"{self.method}[{self.primary.index}]"
        assert self.other is not None
        return f"{self.method}[+{self.other.index}]"


def align(primary: tuple[Call, ...], candidate: tuple[Call, ...]) -> list[Pair]:
    """Pairs for every call of both sides, kinds in the order they first appear."""
    kinds = list(dict.fromkeys(call.kind for call in (*primary, *candidate)))
    pairs: list[Pair] = []
    for target, method in kinds:
        ours = [call for call in primary if call.kind == (target, method)]
        theirs = [call for call in candidate if call.kind == (target, method)]
        pairs.extend(Pair(target, method, left, right) for left, right in _align_kind(ours, theirs))
    return pairs


def likeness(left: Any, right: Any) -> float:
    """How alike two argument trees are, from 0 to 1: equal leaves count 1, similar strings part."""
    ours, theirs = flatten(left), flatten(right)
    paths = ours.keys() | theirs.keys()
    if not paths:
        return 1.0
    return sum(_leaf_likeness(ours.get(path), theirs.get(path)) for path in paths) / len(paths)


def _leaf_likeness(left: Any, right: Any) -> float:
    if left == right:
        return 1.0
    if isinstance(left, str) and isinstance(right, str):
        return SequenceMatcher(None, left, right).ratio() / 2
    return 0.0


def _align_kind(ours: list[Call], theirs: list[Call]) -> list[tuple[Call | None, Call | None]]:
    """Needleman-Wunsch with free gaps; on a tie, the earlier pairing wins.

    Pairing beats a gap by a hair even for unlike calls, so a changed call shows as changed."""
    rows, columns = len(ours), len(theirs)
    pair = [[likeness(left.arguments, right.arguments) + 1e-6 for right in theirs] for left in ours]
    score = [[0.0] * (columns + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(columns - 1, -1, -1):
            score[i][j] = max(pair[i][j] + score[i + 1][j + 1], score[i + 1][j], score[i][j + 1])
    result: list[tuple[Call | None, Call | None]] = []
    i = j = 0
    while i < rows and j < columns:
        if score[i][j] == pair[i][j] + score[i + 1][j + 1]:
            result.append((ours[i], theirs[j]))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            result.append((ours[i], None))
            i += 1
        else:
            result.append((None, theirs[j]))
            j += 1
    result.extend((call, None) for call in ours[i:])
    result.extend((None, call) for call in theirs[j:])
    return result
