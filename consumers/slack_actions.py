"""The Slack side effects a handler can cause, sent for real or, in shadow mode, only recorded.

A shadow runs the same code as the primary on the same traffic; everything it would have
sent to Slack is logged as ``slack call recorded`` with the envelope id, so its behaviour
can be compared with the primary's without a user ever seeing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from consumers import capture
from consumers.errors import SlackCallFailed
from slack_fanout.behaviour import CallTarget
from slack_fanout.envelope import Reply


class SlackActions(Protocol):
    """Every call raises ``SlackCallFailed`` when Slack refuses it, so the message is retried."""

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        """Post ``message`` to a request's response_url (slash commands, interactivity)."""

    def post_message(self, channel: str, text: str, **fields: Any) -> bool:
        """Call chat.postMessage as the bot (https://api.slack.com/methods/chat.postMessage).

        False when it was skipped because no bot token is configured."""


SideEffects = Callable[[logging.LoggerAdapter], SlackActions]
"""Builds one message's side effects around that message's logger."""


class LiveSlack:
    """Talks to Slack. Without a bot token, chat.postMessage is skipped (and logged), not failed."""

    def __init__(self, client: WebClient | None, log: logging.LoggerAdapter) -> None:
        self._client = client
        self._log = log

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        try:
            response = WebhookClient(response_url).send_dict(message)
        except (SlackClientError, OSError) as error:
            raise SlackCallFailed(f"response_url post failed: {type(error).__name__}: {error}") from error
        if response.status_code >= 300:
            raise SlackCallFailed(f"response_url answered HTTP {response.status_code}")

    def post_message(self, channel: str, text: str, **fields: Any) -> bool:
        if self._client is None:
            self._log.warning("chat.postMessage skipped: no SLACK_BOT_TOKEN", extra={"channel": channel})
            return False
        try:
            self._client.chat_postMessage(channel=channel, text=text, **fields)
        except SlackApiError as error:
            status, reason = error.response.status_code, error.response.get("error")
            raise SlackCallFailed(f"chat.postMessage failed: HTTP {status}, {reason}") from error
        except (SlackClientError, OSError) as error:
            raise SlackCallFailed(f"chat.postMessage failed: {type(error).__name__}: {error}") from error
        return True


class RecordingSlack:
    """Shadow mode: logs each side effect instead of sending it; sends nothing, anywhere."""

    def __init__(self, log: logging.LoggerAdapter) -> None:
        self._log = log

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        self._record("respond", response_url=response_url, message=message)
        _suppressed(CallTarget.WEBHOOK, "response_url", message)

    def post_message(self, channel: str, text: str, **fields: Any) -> bool:
        self._record("chat.postMessage", channel=channel, text=text, **fields)
        _suppressed(CallTarget.WEB_API, "chat.postMessage", {"channel": channel, "text": text, **fields})
        return True

    def reply(self, reply: Reply) -> None:
        """The answer a replying consumer would have sent back to Slack in the HTTP response."""
        self._record("reply", content_type=reply.content_type, body=reply.body.decode("utf-8", "replace"))

    def _record(self, method: str, **arguments: Any) -> None:
        arguments.pop("token", None)  # a handler may pass one per call; tokens never reach the logs
        self._log.info("slack call recorded", extra={"method": method, "arguments": arguments})


def _suppressed(target: CallTarget, method: str, arguments: dict[str, Any]) -> None:
    """Into the request's behaviour record too, as the capture records an app's own suppressed calls."""
    active = capture.active()
    if active is not None:
        active.suppressed(target, method, arguments)


def live_slack(bot_token: str | None, api_url: str) -> SideEffects:
    """One Web API client for all messages (it keeps no per-call state), each message its own logger."""
    client = WebClient(token=bot_token, base_url=api_url) if bot_token else None
    return lambda log: LiveSlack(client, log)
