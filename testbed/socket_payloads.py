"""The payloads Slack sends over Socket Mode for the requests testbed/slack.py builds for HTTP.

Over Socket Mode a slash command's form fields, an interaction's ``payload`` field and an Events
API body all arrive as one JSON object, the envelope's ``payload``.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from testbed import slack


def slash_command(text: str = "hello", response_url: str = "https://hooks.slack.com/commands/T1/1/x") -> dict:
    return dict(urllib.parse.parse_qsl(slack.slash_command(text, response_url).decode()))


def block_action(
    value: str = "approve", response_url: str = "https://hooks.slack.com/actions/T1/1/x"
) -> dict:
    return json.loads(slack.interactive_payload(slack.block_action(value, response_url)))


def event_callback(text: str = "hello bot", event_id: str = "Ev08MFMKH6") -> dict[str, Any]:
    return json.loads(slack.event_callback(text, event_id))


def of_every_type() -> dict[str, dict[str, Any]]:
    """One payload per Socket Mode envelope type that carries a request."""
    return {
        "slash_commands": slash_command(text="forecast ☀"),
        "interactive": block_action(value="approve"),
        "events_api": event_callback(text="<@U0BOT> hi"),
    }
