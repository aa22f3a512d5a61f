"""Envelopes as the gateway would publish them, for tests that feed consumers directly."""

from __future__ import annotations

from slack_fanout.envelope import Envelope, Kind, Verification
from tests.support import slack


def an_envelope(text: str = "hello") -> Envelope:
    """A verified slash command whose payload text is ``text``."""
    body = slack.slash_command(text=text)
    return Envelope(
        kind=Kind.SLASH_COMMAND,
        verified_by=Verification.SIGNATURE,
        path="/slack/events",
        content_type=slack.FORM,
        headers={},
        body=body.decode(),
        payload={"command": "/weather", "text": text},
    )
