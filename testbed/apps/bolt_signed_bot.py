"""A Bolt app as its authors deploy it over HTTP: Bolt's Flask adapter, Bolt's own signature check.

Run unchanged by a consumer with ``--wsgi testbed.apps.bolt_signed_bot:flask_app``. Environment:
BOLT_SIGNING_SECRET: the Slack app's signing secret; Bolt refuses requests not signed with it.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult


def _installation(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
    """The app's installation as Bolt would look it up, without asking Slack (auth.test)."""
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token="xoxb-bolt-test",
        bot_id="B1",
        bot_user_id="U0BOT",
    )


bolt = App(signing_secret=os.environ["BOLT_SIGNING_SECRET"], authorize=_installation)


@bolt.command("/weather")
def weather(ack: Ack, command: dict[str, Any]) -> None:
    ack(response_type="in_channel", text=f"Forecast for {command['text']}: sunny")


@bolt.options("city")
def cities(ack: Ack) -> None:
    ack(options=[{"text": {"type": "plain_text", "text": "Lima"}, "value": "lima"}])


flask_app = Flask(__name__)
handler = SlackRequestHandler(bolt)


@flask_app.post("/slack/events")
def slack_events() -> Response:
    return handler.handle(request)
