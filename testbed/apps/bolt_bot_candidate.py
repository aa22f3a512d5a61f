"""A candidate version of testbed/apps/bolt_bot.py, copied and changed as a team would: three changes to find.

Run as the shadow beside the primary (``--wsgi testbed.apps.bolt_bot_candidate:flask_app
--shadow``), its behaviour records differ from the primary's in exactly three places, each
marked ``CHANGED`` below: the ``ack()`` answer of ``/deploy``, the text of the first
``say()`` of ``app_mention``, and one more ``chat.postMessage`` there.

- ``/deploy TEXT``: ``ack()`` with a short answer, then ``respond()`` from Bolt's listener
  thread, after the answer went back; ``TEXT`` starting with ``slow`` waits a moment first.
- ``app_mention``: ``say()``, then a reply in the thread of the message it just posted (the
  ``ts`` Slack gave back).
- ``/report``: ``ack()`` at once, the work in a lazy listener (``chat.postMessage``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, Response, request
from slack_bolt import Ack, App, Respond, Say
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient

app = App(token=os.environ["SLACK_BOT_TOKEN"], signing_secret=os.environ["SLACK_SIGNING_SECRET"])


@app.command("/deploy")
def deploy(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
    ack(f"Deployment of {command['text']} started")  # CHANGED: another answer
    if command["text"].startswith("slow"):
        time.sleep(0.3)
    respond(f"Deployed {command['text']}")


@app.event("app_mention")
def mention(event: dict[str, Any], say: Say) -> None:
    posted = say(f"Hi there <@{event['user']}>")  # CHANGED: another text
    say(text="On it.", thread_ts=posted["ts"])
    say(text="Anything else?", thread_ts=posted["ts"])  # CHANGED: one more chat.postMessage


def acknowledge_report(ack: Ack) -> None:
    ack()


def write_report(command: dict[str, Any], client: WebClient) -> None:
    client.chat_postMessage(channel=command["channel_id"], text=f"Report on {command['text']}: all green")


app.command("/report")(ack=acknowledge_report, lazy=[write_report])

flask_app = Flask(__name__)
handler = SlackRequestHandler(app)


@flask_app.post("/slack/events")
def slack_events() -> Response:
    return handler.handle(request)
