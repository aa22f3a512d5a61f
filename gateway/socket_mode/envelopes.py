"""A Socket Mode envelope as the HTTP request Slack would have sent, and an answer as its ack. Pure.

Over HTTP, Slack sends a slash command or an interaction as a form, an Events API callback as
JSON. Over Socket Mode it sends the same fields as a JSON ``payload``. Rendering them back
into the HTTP body, then reading that body with the HTTP gateway's own parser, makes the
envelope exactly what the HTTP gateway would have published for the same request (apart from
its id, its time and ``verified_by``), so a consumer, and an app replayed into with ``--wsgi``
or ``--forward``, cannot tell the two ingresses apart.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import MalformedBody, UnknownPayload
from gateway.slack_body import FORM, JSON, Handshake, classify, parse_body, payload_of
from slack_fanout.envelope import Envelope, Reply, Verification

MEDIA_TYPES = {"events_api": JSON, "slash_commands": FORM, "interactive": FORM}
"""The Socket Mode envelope types that carry a request, and how Slack sends each over HTTP."""

RETRY_NUM_HEADER = "x-slack-retry-num"
RETRY_REASON_HEADER = "x-slack-retry-reason"
_ENVELOPE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass(frozen=True)
class SocketRequest:
    """One envelope Slack sent over a Socket Mode connection, to be acknowledged by ``envelope_id``."""

    type: str
    envelope_id: str
    payload: dict[str, Any]
    accepts_response_payload: bool = False
    retry_attempt: int = 0
    retry_reason: str = ""

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> SocketRequest:
        """Raises ``UnknownPayload`` or ``MalformedBody`` for a message that is no request we read."""
        kind, envelope_id, payload = message.get("type"), message.get("envelope_id"), message.get("payload")
        if kind not in MEDIA_TYPES:
            raise UnknownPayload(f"Socket Mode envelope type {str(kind)[:40]!r} is not a request")
        if not isinstance(envelope_id, str) or not _ENVELOPE_ID.fullmatch(envelope_id):
            raise MalformedBody("Socket Mode envelope has no usable 'envelope_id'")
        if not isinstance(payload, dict):
            raise MalformedBody("Socket Mode envelope 'payload' is not a JSON object")
        attempt = message.get("retry_attempt")
        reason = message.get("retry_reason")
        return cls(
            type=kind,
            envelope_id=envelope_id,
            payload=payload,
            accepts_response_payload=message.get("accepts_response_payload") is True,
            retry_attempt=attempt if isinstance(attempt, int) and attempt > 0 else 0,
            retry_reason=reason if isinstance(reason, str) else "",
        )


def http_body(request: SocketRequest) -> tuple[str, str]:
    """The content type and body of the HTTP request Slack would have sent instead."""
    media_type = MEDIA_TYPES[request.type]
    if media_type == JSON:
        return media_type, _json(request.payload)
    if request.type == "interactive":
        return media_type, urllib.parse.urlencode({"payload": _json(request.payload)})
    fields = {name: _form_value(value) for name, value in request.payload.items()}
    return media_type, urllib.parse.urlencode(fields)


def to_envelope(request: SocketRequest, path: str) -> Envelope:
    """The envelope the HTTP gateway would have built; raises a ``BadRequest`` as it would have."""
    content_type, body = http_body(request)
    parsed = parse_body(body, content_type)
    payload = payload_of(parsed)
    kind = classify(parsed, payload)
    if isinstance(kind, Handshake):
        raise UnknownPayload(f"{kind.value} does not come over Socket Mode")
    return Envelope(
        id=request.envelope_id,
        kind=kind,
        verified_by=Verification.SOCKET_MODE,
        path=path,
        content_type=content_type,
        headers={"content-type": content_type, **retry_headers(request)},
        body=body,
        payload=payload,
    )


def retry_headers(request: SocketRequest) -> dict[str, str]:
    """Slack's ``retry_attempt``/``retry_reason``, as the ``X-Slack-Retry-*`` headers of HTTP's retries."""
    if not request.retry_attempt:
        return {}
    headers = {RETRY_NUM_HEADER: str(request.retry_attempt)}
    if request.retry_reason:
        headers[RETRY_REASON_HEADER] = request.retry_reason
    return headers


class UnusableReply(ValueError):
    """An answer that cannot go in an ack: Slack takes only a JSON object there."""


def ack(envelope_id: str, reply: Reply | None = None) -> dict[str, Any]:
    """The acknowledgement of one envelope, with the primary's answer as its ``payload``.

    As Bolt's Socket Mode adapter does with an app's HTTP answer: a JSON object goes as it is,
    text as ``{"text": …}``, an empty body as no payload.
    """
    message: dict[str, Any] = {"envelope_id": envelope_id}
    if reply is not None and reply.body:
        message["payload"] = _ack_payload(reply)
    return message


def _ack_payload(reply: Reply) -> dict[str, Any]:
    text = reply.body.decode("utf-8", "replace")
    if reply.content_type.split(";", 1)[0].strip().lower() != JSON:
        return {"text": text}
    try:
        payload = json.loads(text)
    except ValueError:
        raise UnusableReply("the answer says it is JSON but is not") from None
    if not isinstance(payload, dict):
        raise UnusableReply("the answer is JSON but not an object")
    return payload


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _form_value(value: object) -> str:
    """Form fields are text; Slack writes booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if value is None:
        return ""
    raise MalformedBody("a slash command's payload field is not text")
