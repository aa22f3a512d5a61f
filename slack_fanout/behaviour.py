"""The behaviour record: what one consumer did in Slack for one envelope.

Every consumer publishes one record per envelope it settles; the comparer (the shadow
verdict) joins the records of the primary and a candidate by envelope id and compares them.
This module is the contract between the two ends, as ``envelope`` is between gateway and
consumers: no broker code, no capture code, only the shape and the pure helpers both sides
need. Secrets are redacted before a record is built; nothing here ever holds a token.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from slack_fanout.envelope import Envelope, Kind

CONTENT_TYPE = "application/json"


class Outcome(StrEnum):
    """What became of the envelope in this consumer."""

    HANDLED = "handled"
    FAILED = "failed"
    """The handler raised; the message waits for a retry (a later record may follow)."""
    DEAD_LETTERED = "dead_lettered"
    DUPLICATE_SKIPPED = "duplicate_skipped"


class CallTarget(StrEnum):
    """Which of Slack's surfaces a call went to."""

    WEB_API = "web_api"
    """``https://slack.com/api/<method>``."""
    WEBHOOK = "webhook"
    """A ``response_url`` or incoming webhook (``hooks.slack.com``)."""
    UPLOAD = "upload"
    """The upload URL of ``files.getUploadURLExternal`` (``files.slack.com``)."""
    REPLY = "reply"
    """The synchronous answer in the HTTP response, passed back by the gateway."""


class CallMode(StrEnum):
    SENT = "sent"
    """A primary's call: it reached Slack (or the configured Slack base URL)."""
    SUPPRESSED = "suppressed"
    """A shadow's call: never sent; the app got a fake, well-formed answer."""
    PASSED_THROUGH = "passed_through"
    """A shadow's read-only call let through by the explicit allowlist."""


class SlackCall(BaseModel):
    """One call an app made to Slack, in the order it made them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    target: CallTarget
    method: str = Field(
        description="A Web API method (`chat.postMessage`), or `response_url`, `upload`, `reply`."
    )
    arguments: dict[str, Any] = Field(description="What was sent, parsed (JSON or form), secrets redacted.")
    mode: CallMode
    status: int | None = Field(None, description="HTTP status of the answer (fake for a suppressed call).")
    response: dict[str, Any] | None = Field(None, description="The answer's JSON, secrets redacted.")
    error: str | None = Field(None, description="Why the call failed, when it did.")
    offset_ms: float = Field(0.0, description="When the call started, from the start of handling.")
    duration_ms: float = 0.0


class Answer(BaseModel):
    """The synchronous answer of the handler (what Slack would see in the HTTP response)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: int | None = None
    content_type: str | None = None
    body: str = ""


class Escape(BaseModel):
    """A connection to a Slack host that did not go through the capture: a shadow refused it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    host: str
    port: int | None = None
    where: str = Field("", description="The innermost application frame that opened it (file:line).")


class BehaviourRecord(BaseModel):
    """What one consumer did with one envelope; published once per settled attempt."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: Literal[1] = 1
    envelope_id: str
    consumer: str
    code_version: str = Field("", description="CONSUMER_CODE_VERSION: a git sha, an image tag.")
    shadow: bool
    kind: Kind
    endpoint: str = Field(description="`endpoint_key` of the envelope: what the comparer groups by.")
    received_at: AwareDatetime = Field(description="When the gateway received the request.")
    started_at: AwareDatetime
    duration_ms: float = Field(description="Handling time, until the request settled.")
    settled: bool = Field(True, description="False: work the handler started still ran at the bound.")
    outcome: Outcome
    answer: Answer | None = None
    calls: list[SlackCall] = Field(default_factory=list)
    calls_captured: bool = Field(
        True,
        description="False for a `--forward` consumer: its app calls Slack from another process, so "
        "`calls` holds none of them (compare its answer only).",
    )
    exceptions: list[str] = Field(default_factory=list, description="`Type: message` of each error raised.")
    escapes: list[Escape] = Field(default_factory=list)
    inbound: dict[str, Any] = Field(
        default_factory=dict, description="The payload, secrets redacted, for the side-by-side view."
    )

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, data: bytes) -> BehaviourRecord:
        return cls.model_validate_json(data)


def endpoint_key(envelope: Envelope) -> str:
    """What the comparer groups requests by: the kind and the name of what was invoked.

    ``command:/deploy``, ``event:app_mention``, ``block_actions:<action_id>``,
    ``view_submission:<callback_id>``, ``shortcut:<callback_id>``,
    ``outgoing_webhook:<trigger_word>``.
    """
    payload = envelope.payload
    match envelope.kind:
        case Kind.SLASH_COMMAND:
            return f"command:{payload.get('command', '')}"
        case Kind.OUTGOING_WEBHOOK:
            return f"outgoing_webhook:{payload.get('trigger_word', '')}"
        case Kind.EVENT_CALLBACK:
            event = payload.get("event")
            return f"event:{event.get('type', '') if isinstance(event, dict) else ''}"
        case Kind.INTERACTIVE:
            return f"{payload.get('type', 'interactive')}:{_interactive_name(payload)}"
        case _:
            return envelope.kind.value


def _interactive_name(payload: dict[str, Any]) -> str:
    actions = payload.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return str(actions[0].get("action_id", ""))
    view = payload.get("view")
    if isinstance(view, dict) and view.get("callback_id"):
        return str(view["callback_id"])
    return str(payload.get("callback_id", ""))
