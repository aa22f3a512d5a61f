"""Envelopes as the gateway would publish them, for tests (and the consumer benchmark) that feed consumers
directly."""

from __future__ import annotations

from slack_fanout.envelope import Envelope, Kind, Verification
from testbed import slack


def an_envelope(
    text: str = "hello", *, path: str = "/slack/events", signed_at: int | None = None
) -> Envelope:
    """A verified slash command whose payload text is ``text``; with ``signed_at``, it keeps the
    Slack signature headers of a request signed at that Unix time."""
    body = slack.slash_command(text=text)
    headers = {} if signed_at is None else slack.sign(body, timestamp=signed_at)
    return Envelope(
        kind=Kind.SLASH_COMMAND,
        verified_by=Verification.SIGNATURE,
        path=path,
        content_type=slack.FORM,
        headers={name.lower(): value for name, value in headers.items()},
        body=body.decode(),
        payload={"command": "/weather", "text": text},
    )
