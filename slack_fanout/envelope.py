"""The envelope: the one message format the gateway publishes and every consumer reads.

The raw Slack body travels byte-for-byte (as text) beside its parsed form, so a consumer
can re-verify or re-sign it, or replay it into an existing Slack app unchanged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

CONTENT_TYPE = "application/json"


class Kind(StrEnum):
    """Which kind of Slack request the envelope carries."""

    SLASH_COMMAND = "slash_command"
    OUTGOING_WEBHOOK = "outgoing_webhook"
    INTERACTIVE = "interactive"
    EVENT_CALLBACK = "event_callback"
    APP_RATE_LIMITED = "app_rate_limited"


ANSWER_SHOWN_KINDS = frozenset(
    {"slash_command", "outgoing_webhook", "view_submission", "block_suggestion", "interactive_message"}
)
"""Request kinds, or interactivity payload types, whose HTTP response Slack shows to the user;
Slack ignores the body of the others' (events, block actions)."""


class Verification(StrEnum):
    """How the ingress established that the request came from Slack."""

    SIGNATURE = "signature"
    TOKEN = "token"
    SOCKET_MODE = "socket_mode"
    """Received over a Socket Mode connection opened with the app-level token: Slack signs nothing
    there; the body and headers are rendered as the HTTP request Slack would have sent."""

    @property
    def signed_by_slack(self) -> bool:
        """Whether the app would have got this request signed over HTTP: a replay signs it afresh."""
        return self is not Verification.TOKEN


class DecodeError(ValueError):
    """A message body is not a valid envelope; ``data`` keeps the bytes for the dead-letter record."""

    def __init__(self, data: bytes, reason: str) -> None:
        super().__init__(f"not an envelope: {reason}")
        self.data = data
        self.reason = reason


def new_envelope_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """One verified Slack request, as every consumer receives it.

    ``verified_by`` tells a consumer the gateway already checked the request, so it need
    not refuse a signature whose timestamp a queue backlog has pushed past Slack's
    five-minute window. Unknown fields are ignored so the contract can grow.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: Literal[1] = 1
    id: str = Field(default_factory=new_envelope_id)
    received_at: AwareDatetime = Field(default_factory=utc_now)
    kind: Kind
    verified_by: Verification
    path: str
    content_type: str
    headers: dict[str, str] = Field(description="Slack-relevant request headers, names lower-cased.")
    body: str = Field(description="The request body exactly as received.")
    payload: dict[str, Any] = Field(
        description="The parsed body; for interactivity, the JSON of its `payload` field."
    )
    reply_by: AwareDatetime | None = Field(
        None,
        description="Set when the gateway waits for a synchronous answer: after this instant it has "
        "answered Slack without one, so a later answer must go through response_url instead.",
    )

    @property
    def event_id(self) -> str | None:
        """Slack's id of an Events API event, stable across Slack's retries of it."""
        value = self.payload.get("event_id")
        return value if isinstance(value, str) else None

    @property
    def response_url(self) -> str | None:
        value = self.payload.get("response_url")
        return value if isinstance(value, str) else None

    def answer_is_shown(self, kinds: frozenset[str] = ANSWER_SHOWN_KINDS) -> bool:
        """Whether Slack shows the HTTP response to this request (``kinds``: kinds or payload types)."""
        if self.kind.value in kinds:
            return True
        return self.kind is Kind.INTERACTIVE and self.payload.get("type") in kinds

    @property
    def retry_num(self) -> int:
        """How many times Slack had already sent this request (0 for the first attempt)."""
        value = self.headers.get("x-slack-retry-num", "0")
        return int(value) if value.isascii() and value.isdigit() else 0  # "²".isdigit() is true

    def encode(self) -> bytes:
        """Indented JSON, so the message reads well in the management UI."""
        return self.model_dump_json(indent=2).encode()

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise DecodeError(data, _summarise(exc)) from None


@dataclass(frozen=True)
class Reply:
    """A consumer's answer to an envelope, as the gateway returns it to Slack.

    On the wire: the body of a message published to the envelope's reply-to address, with the
    content type as its ``content_type`` property and the envelope id as its ``correlation_id``.
    """

    content_type: str
    body: bytes


def _summarise(exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "message"
    return f"{location}: {first['msg']} ({exc.error_count()} error(s))"
