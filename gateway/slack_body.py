"""Reading a Slack request body and telling the kinds of request apart. Pure functions.

Slack sends form bodies (slash commands, outgoing webhooks, interactivity with its JSON in
the ``payload`` field) and JSON bodies (Events API). We dispatch on the declared content
type, never on what the body looks like.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gateway.errors import BodyNotUtf8, MalformedBody, UnknownPayload, UnsupportedMediaType
from slack_fanout.envelope import Kind

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_FORM_FIELDS = 200


class Handshake(Enum):
    """Requests Slack sends to check the endpoint itself: answered here, never published."""

    URL_VERIFICATION = "url_verification"
    SSL_CHECK = "ssl_check"


@dataclass(frozen=True)
class SlackBody:
    """A decoded body: its media type and its fields (form fields, or the JSON object)."""

    media_type: str
    fields: dict[str, Any]


def media_type_of(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json``; refuses the types Slack never sends."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in (FORM, JSON):
        raise UnsupportedMediaType(f"Content-Type must be {FORM} or {JSON}")
    return media_type


def decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyNotUtf8("body is not valid UTF-8") from None


def parse_body(text: str, media_type: str) -> SlackBody:
    fields = _json_object(text, "body") if media_type == JSON else _form_fields(text)
    return SlackBody(media_type, fields)


def payload_of(body: SlackBody) -> dict[str, Any]:
    """What a consumer works with: the fields, or for interactivity the JSON in its ``payload`` field."""
    if body.media_type == FORM and "payload" in body.fields:
        return _json_object(body.fields["payload"], "form field 'payload'")
    return body.fields


def classify(body: SlackBody, payload: dict[str, Any]) -> Kind | Handshake:
    """Which kind of Slack request this is, or the handshake to answer."""
    fields = body.fields
    if body.media_type == JSON:
        return _events_api_kind(fields.get("type"))
    if fields.get("ssl_check") == "1":
        return Handshake.SSL_CHECK
    if "payload" in fields:
        if not isinstance(payload.get("type"), str):
            raise UnknownPayload("interactivity payload has no 'type'")
        return Kind.INTERACTIVE
    if "command" in fields:
        return Kind.SLASH_COMMAND
    if "trigger_word" in fields or {"text", "channel_id", "user_id"} <= fields.keys():
        return Kind.OUTGOING_WEBHOOK
    raise UnknownPayload("form body is not a slash command, outgoing webhook or interactivity payload")


def _events_api_kind(event_type: object) -> Kind | Handshake:
    if event_type == "url_verification":
        return Handshake.URL_VERIFICATION
    if event_type == "event_callback":
        return Kind.EVENT_CALLBACK
    if event_type == "app_rate_limited":
        return Kind.APP_RATE_LIMITED
    raise UnknownPayload("JSON body is not an Events API request (unknown 'type')")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedBody(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise MalformedBody(f"{what} is not a JSON object")
    return value


def _form_fields(text: str) -> dict[str, str]:
    try:
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, errors="strict", max_num_fields=MAX_FORM_FIELDS
        )
    except (ValueError, UnicodeDecodeError):
        raise MalformedBody("body is not a valid form (application/x-www-form-urlencoded)") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise MalformedBody("form body repeats a field")
    return fields
