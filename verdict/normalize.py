"""Normalization: what differs between two runs by construction is made equal before comparing.

Applied to each side's record on its own, so the two never need to agree on anything but
the code's behaviour:

- **Symbols.** A value Slack returned earlier in the same record (a ``ts``, a ``channel``,
  a view ``id``: the keys in ``RETURNED_KEYS`` and every ``*_id``) becomes the name of where
  it came from, ``$chat.postMessage[0].ts``, wherever a later call passes it back. The
  primary's real ``ts`` and the shadow's fake one both become that symbol, so "update the
  message I just posted" matches. A value the app already had (from the inbound request or
  its own arguments) is not Slack's news and stays itself.
- **Opaque inbound values** (``OPAQUE_INBOUND_KEYS``) become ``$inbound.<key>``.
- **JSON held in strings** (``blocks``, ``view``, ``private_metadata``: any string that
  parses as a JSON object or list) is parsed, so a key order or spacing change is no difference.
- **Masks.** What is left that looks like a timestamp (a Slack ``ts``, an ISO date-time) or
  a uuid becomes ``<ts>``, ``<datetime>``, ``<uuid>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from slack_fanout.behaviour import BehaviourRecord, SlackCall
from verdict.tree import keyed_strings

OPAQUE_INBOUND_KEYS = frozenset({"trigger_id", "response_url", "event_id", "client_msg_id"})
RETURNED_KEYS = frozenset({"ts", "thread_ts", "channel", "id", "hash", "permalink", "upload_url"})
MIN_EMBEDDED_LENGTH = 6
"""A symbol's value this long or longer is replaced inside longer strings too (a permalink, a mention)."""

_DATETIME = r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
_MASKS = (
    (re.compile(_DATETIME), "<datetime>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<uuid>"),
    (re.compile(r"\b\d{10}\.\d{6}\b"), "<ts>"),
)  # fmt: skip


@dataclass(frozen=True)
class Call:
    """A call with its arguments normalized; ``index`` counts the calls of its kind on its side."""

    target: str
    method: str
    index: int
    arguments: Any
    raw: SlackCall

    @property
    def kind(self) -> tuple[str, str]:
        return self.target, self.method


@dataclass(frozen=True)
class Behaviour:
    """One side's record, normalized: the parts the comparer compares, and the record to show."""

    record: BehaviourRecord
    answer: dict[str, Any] | None
    calls: tuple[Call, ...]
    exceptions: tuple[str, ...]


class Symbols:
    """The values seen so far in one record, each named for where it came from."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._known: set[str] = set()

    def name(self, value: str, name: str) -> None:
        """Give ``value`` a symbol unconditionally (the first name wins)."""
        if value:
            self._names.setdefault(value, name)

    def know(self, value: Any) -> None:
        """Mark every string in ``value`` as the app's own: Slack returning it later is no news."""
        self._known.update(text for _key, text in keyed_strings(value))

    def learn(self, response: Any, origin: str) -> None:
        """Name the new values of a Slack answer that an app may pass back later."""
        for key, value in keyed_strings(response):
            if (key in RETURNED_KEYS or key.endswith("_id")) and value not in self._known:
                self.name(value, f"${origin}.{key}")

    def substitute(self, text: str) -> str:
        exact = self._names.get(text)
        if exact is not None:
            return exact
        for value in sorted(self._names, key=len, reverse=True):
            if len(value) >= MIN_EMBEDDED_LENGTH and value in text:
                text = text.replace(value, self._names[value])
        return text


def normalize(record: BehaviourRecord) -> Behaviour:
    symbols = Symbols()
    for key, value in keyed_strings(record.inbound):
        if key in OPAQUE_INBOUND_KEYS:
            symbols.name(value, f"$inbound.{key}")
    symbols.know(record.inbound)
    counts: dict[tuple[str, str], int] = {}
    calls = []
    for call in record.calls:
        kind = (call.target.value, call.method)
        index = counts[kind] = counts.get(kind, -1) + 1
        calls.append(Call(kind[0], call.method, index, normalize_value(call.arguments, symbols), call))
        symbols.know(call.arguments)
        if call.response is not None:
            symbols.learn(call.response, f"{call.method}[{index}]")
    return Behaviour(
        record=record,
        answer=_normalize_answer(record, symbols),
        calls=tuple(calls),
        exceptions=tuple(normalize_value(text, symbols) for text in record.exceptions),
    )


def normalize_value(value: Any, symbols: Symbols) -> Any:
    if isinstance(value, str):
        parsed = json_in_string(value)
        if parsed is not None:
            return normalize_value(parsed, symbols)
        return mask(symbols.substitute(value))
    if isinstance(value, dict):
        return {key: normalize_value(item, symbols) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize_value(item, symbols) for item in value]
    return value


def mask(text: str) -> str:
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def json_in_string(text: str) -> dict[str, Any] | list[Any] | None:
    """The object or list a string holds as JSON, if it holds one."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{":
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def _normalize_answer(record: BehaviourRecord, symbols: Symbols) -> dict[str, Any] | None:
    answer = record.answer
    if answer is None:
        return None
    media_type = (answer.content_type or "").split(";", 1)[0].strip().lower()
    return {
        "status": answer.status,
        "content_type": media_type,
        "body": normalize_value(answer.body, symbols),
    }
