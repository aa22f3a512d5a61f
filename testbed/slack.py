"""Build Slack requests the way Slack sends them: bodies, headers and v0 signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass, field

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VERIFICATION_TOKEN = "gIkuvaNzQIHg97ATvDxqgjtO"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class SlackRequest:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    path: str = "/slack/events"


def sign(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 scheme, computed here from its definition over the raw bytes (any bytes)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"v0:%d:%b" % (timestamp, body), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def signed(body: bytes, content_type: str, **headers: str) -> SlackRequest:
    return SlackRequest(body, {"Content-Type": content_type, **sign(body), **headers})


def form(fields: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


_IN_A_CHANNEL = {
    "token": VERIFICATION_TOKEN,
    "team_id": "T0001",
    "team_domain": "example",
    "channel_id": "C2147483705",
    "channel_name": "test",
}
"""The fields every form Slack posts from a channel starts with (a slash command, an outgoing webhook)."""


def slash_command(
    text: str = "hello", response_url: str = "https://hooks.slack.com/commands/T1/1/x"
) -> bytes:
    return form(
        {
            **_IN_A_CHANNEL,
            "user_id": "U2147483697",
            "user_name": "steve",
            "command": "/weather",
            "text": text,
            "api_app_id": "A123456",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def outgoing_webhook(text: str = "googlebot: what is the air-speed velocity") -> bytes:
    return form(
        {
            **_IN_A_CHANNEL,
            "timestamp": "1355517523.000005",
            "user_id": "U2147483697",
            "user_name": "Steve",
            "text": text,
            "trigger_word": "googlebot:",
        }
    )


def block_action(
    value: str = "approve", response_url: str = "https://hooks.slack.com/actions/T1/1/x"
) -> bytes:
    payload = {
        "type": "block_actions",
        "token": VERIFICATION_TOKEN,
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U2147483697", "username": "steve"},
        "api_app_id": "A123456",
        "trigger_id": "12466734323.1395872398",
        "response_url": response_url,
        "actions": [{"action_id": "approve", "block_id": "b1", "value": value, "type": "button"}],
    }
    return form({"payload": json.dumps(payload)})


def event_callback(text: str = "hello bot", event_id: str = "Ev08MFMKH6") -> bytes:
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": "T0001",
            "api_app_id": "A123456",
            "event": {
                "type": "app_mention",
                "user": "U2147483697",
                "text": text,
                "ts": "1515449522.000016",
                "channel": "C2147483705",
                "event_ts": "1515449522000016",
            },
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1515449522,
        }
    ).encode()


def url_verification(challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") -> bytes:
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    ).encode()


def interactive_payload(form_body: bytes) -> str:
    """The JSON inside an interactivity request's ``payload`` form field."""
    return urllib.parse.parse_qs(form_body.decode())["payload"][0]
