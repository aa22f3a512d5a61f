"""What a handler gets beside the envelope: a logger and the Slack side effects it may cause."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from consumers.errors import NoResponseUrl
from consumers.slack_actions import SlackActions
from slack_fanout.envelope import Envelope


@dataclass(frozen=True)
class Context:
    """Passed to ``handler(envelope, context)`` with each message.

    ``log`` adds ``consumer`` and ``envelope_id`` to every line; ``slack`` sends (or, in
    shadow mode, records) calls to Slack, so a handler never needs a client of its own.
    """

    consumer: str
    envelope: Envelope
    log: logging.LoggerAdapter
    slack: SlackActions

    def respond(self, **message: Any) -> None:
        """Answer through the request's response_url: ``respond(text=..., response_type="ephemeral")``."""
        url = self.envelope.response_url
        if url is None:
            raise NoResponseUrl(f"a {self.envelope.kind.value} request has no response_url")
        self.slack.respond(url, message)
