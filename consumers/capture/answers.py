"""What a shadow's app gets back instead of Slack's answer: deterministic, well-formed fakes.

The app's code goes on as in production: ``say()`` gets a ``ts`` and a ``channel``,
Bolt's authorization gets a bot identity from ``auth.test``, ``views.open`` a view id, a
``response_url`` post ``ok``. Fake values are derived from the envelope (its receive time)
and the call's sequence number in its handling, so the same request gets the same answers,
and they are recognisable: ids end in ``SHADOW`` digits, ``ts`` values count up from the
request's second. A method with no fake of its own gets ``{"ok": true}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

FAKE_TEAM_ID = "T0SHADOW0"
FAKE_BOT_USER_ID = "U0SHADOW0"
FAKE_BOT_ID = "B0SHADOW0"

AUTH_TEST = {
    "ok": True,
    "url": "https://shadow.slack.com/",
    "team": "shadow",
    "user": "shadow-bot",
    "team_id": FAKE_TEAM_ID,
    "user_id": FAKE_BOT_USER_ID,
    "bot_id": FAKE_BOT_ID,
    "is_enterprise_install": False,
}

UPLOAD_BODY = "OK"
WEBHOOK_BODY = "ok"


class Fakes:
    """The fake values of one handling: ``seconds`` from the envelope, a counter per call."""

    def __init__(self, seconds: int, sequence: int) -> None:
        self._seconds = seconds
        self._sequence = sequence

    @property
    def ts(self) -> str:
        return f"{self._seconds}.{self._sequence:06d}"

    def id(self, prefix: str) -> str:
        return f"{prefix}{self._sequence:04d}SHADOW"


def web_api_answer(method: str, arguments: dict[str, Any], fakes: Fakes) -> dict[str, Any]:
    """The fake answer to Web API ``method`` called with ``arguments`` (already parsed)."""
    make = _ANSWERS.get(method)
    if make is None:
        return _listing(method) if _is_listing(method) else {"ok": True}
    return make(arguments, fakes)


def _channel(arguments: dict[str, Any], fakes: Fakes) -> str:
    channel = str(arguments.get("channel") or arguments.get("channel_id") or "")
    return channel if channel[:1] in ("C", "G", "D") else fakes.id("D")  # a name or a user: opens a DM


def _message(arguments: dict[str, Any], fakes: Fakes) -> dict[str, Any]:
    message = {"type": "message", "user": FAKE_BOT_USER_ID, "bot_id": FAKE_BOT_ID, "ts": fakes.ts,
               "text": arguments.get("text", ""), "team": FAKE_TEAM_ID}  # fmt: skip
    for field in ("blocks", "attachments", "thread_ts", "metadata"):
        if field in arguments:
            message[field] = _parsed(arguments[field])
    return message


def _post_message(arguments: dict[str, Any], fakes: Fakes) -> dict[str, Any]:
    return {
        "ok": True,
        "channel": _channel(arguments, fakes),
        "ts": fakes.ts,
        "message": _message(arguments, fakes),
    }


def _update(arguments: dict[str, Any], fakes: Fakes) -> dict[str, Any]:
    ts = str(arguments.get("ts", fakes.ts))
    return {"ok": True, "channel": _channel(arguments, fakes), "ts": ts, "text": arguments.get("text", ""),
            "message": {**_message(arguments, fakes), "ts": ts}}  # fmt: skip


def _view(arguments: dict[str, Any], fakes: Fakes) -> dict[str, Any]:
    view = _parsed(arguments.get("view")) or {}
    view = view if isinstance(view, dict) else {}
    view_id = str(arguments.get("view_id") or fakes.id("V"))
    return {"ok": True, "view": {**view, "id": view_id, "team_id": FAKE_TEAM_ID, "hash": fakes.ts,
                                 "app_id": "A0SHADOW0", "bot_id": FAKE_BOT_ID}}  # fmt: skip


def _complete_upload(arguments: dict[str, Any], fakes: Fakes) -> dict[str, Any]:
    files = _parsed(arguments.get("files")) or []
    described = [
        {"id": str(f.get("id", fakes.id("F"))), "title": f.get("title", "")}
        for f in (files if isinstance(files, list) else [])
        if isinstance(f, dict)
    ]
    return {"ok": True, "files": described}


_ANSWERS: dict[str, Callable[[dict[str, Any], Fakes], dict[str, Any]]] = {
    "auth.test": lambda _arguments, _fakes: dict(AUTH_TEST),
    "chat.postMessage": _post_message,
    "chat.postEphemeral": lambda _arguments, fakes: {"ok": True, "message_ts": fakes.ts},
    "chat.update": _update,
    "chat.delete": lambda arguments, fakes: {"ok": True, "channel": _channel(arguments, fakes),
                                             "ts": str(arguments.get("ts", fakes.ts))},
    "chat.meMessage": lambda arguments, fakes: {"ok": True, "channel": _channel(arguments, fakes),
                                                "ts": fakes.ts},
    "chat.scheduleMessage": lambda arguments, fakes: {
        "ok": True, "channel": _channel(arguments, fakes), "scheduled_message_id": fakes.id("Q"),
        "post_at": arguments.get("post_at"), "message": _message(arguments, fakes)},
    "chat.getPermalink": lambda arguments, fakes: {
        "ok": True, "channel": _channel(arguments, fakes),
        "permalink": f"https://shadow.slack.com/archives/{_channel(arguments, fakes)}/p{fakes.id('')}"},
    "conversations.open": lambda _arguments, fakes: {"ok": True, "channel": {"id": fakes.id("D")}},
    "views.open": _view,
    "views.push": _view,
    "views.update": _view,
    "views.publish": _view,
    "files.getUploadURLExternal": lambda _arguments, fakes: {
        "ok": True, "upload_url": f"https://files.slack.com/upload/v1/{fakes.id('UPLOAD')}",
        "file_id": fakes.id("F")},
    "files.completeUploadExternal": _complete_upload,
}  # fmt: skip


_READ_ONLY_NAMES = frozenset(
    {"info", "list", "history", "replies", "members", "test", "messages", "files", "all"}
)
_READ_ONLY_PREFIXES = ("get", "lookup")


def is_read_only(method: str) -> bool:
    """A Web API method that only reads (``users.info``, ``conversations.history``, ``users.lookupByEmail``):
    the only kind a shadow may let through to Slack."""
    family, _, name = method.rpartition(".")
    return (
        bool(family)
        and (name in _READ_ONLY_NAMES or name.startswith(_READ_ONLY_PREFIXES))
        and (
            not name.startswith("getUpload")  # files.getUploadURLExternal reserves an upload
        )
    )


def _is_listing(method: str) -> bool:
    return method.rsplit(".", 1)[-1] in ("list", "history", "replies", "members")


def _listing(method: str) -> dict[str, Any]:
    """An empty page, so pagination stops: ``{"ok": true, "<things>": [], next_cursor ""}``."""
    family = method.split(".", 1)[0]
    key = {"conversations": "channels", "users": "members", "usergroups": "usergroups"}.get(family, family)
    if method.endswith((".history", ".replies")):
        key = "messages"
    elif method.endswith(".members"):
        key = "members"
    return {"ok": True, key: [], "has_more": False, "response_metadata": {"next_cursor": ""}}


def _parsed(value: Any) -> Any:
    """Form-encoded calls carry ``blocks``, ``view`` and ``files`` as JSON in a string."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
