"""A Slack bot as teams write them before they know of the gateway: a Flask app that checks
Slack's signature itself, reads ``request.form`` and answers in the HTTP response. Its legacy
outgoing webhook (at ``/``, unsigned) is checked by its verification token instead.

Consumer tests run it unchanged with ``--wsgi testbed.apps.seed_bot:app`` or behind
``--forward``. Steered by the text of the slash command: ``fail`` answers 500, ``refuse``
400, ``sleep:SECONDS`` answers after that long. Environment:

SEED_SIGNING_SECRET: the Slack app's signing secret; requests not signed with it get 401.
SEED_VERIFICATION_TOKEN: the token outgoing webhooks must carry; others get 401.
SEED_RECORD_FILE: append the text of each slash command answered there.
"""

from __future__ import annotations

import hmac
import json
import os
import time

from flask import Flask, Response, abort, jsonify, request
from slack_sdk.signature import SignatureVerifier

app = Flask(__name__)


OUTGOING_WEBHOOK_PATH = "/"


@app.before_request
def verify_slack_request() -> None:
    if request.path == OUTGOING_WEBHOOK_PATH:
        token = os.environ.get("SEED_VERIFICATION_TOKEN", "")
        if not (token and hmac.compare_digest(request.form.get("token", ""), token)):
            abort(401)
        return
    verifier = SignatureVerifier(os.environ.get("SEED_SIGNING_SECRET", ""))
    if not verifier.is_valid_request(request.get_data(), dict(request.headers)):
        abort(401)


@app.post("/slack/commands")
def slash_command() -> Response | tuple[str, int]:
    text = request.form["text"]
    if text == "fail":
        return "database unavailable", 500
    if text == "refuse":
        return "unknown command", 400
    if text.startswith("sleep:"):
        time.sleep(float(text.removeprefix("sleep:")))
    if record_file := os.environ.get("SEED_RECORD_FILE"):
        with open(record_file, "a") as record:
            record.write(text + "\n")
    return jsonify(response_type="in_channel", text=f"Forecast for {text}: sunny")


@app.post(OUTGOING_WEBHOOK_PATH)
def outgoing_webhook() -> Response:
    return jsonify(text=f"{request.form['user_name']} said: {request.form['text']}")


@app.post("/slack/interactive")
def interaction() -> Response:
    payload = json.loads(request.form["payload"])
    if payload["type"] == "view_submission":
        return jsonify(response_action="errors", errors={"title": "A title needs 3 characters or more"})
    if payload["type"] == "block_suggestion":
        return jsonify(options=[{"text": {"type": "plain_text", "text": "Sunny"}, "value": "sunny"}])
    return Response(status=200)


@app.post("/slack/events")
def event() -> Response:
    return Response(status=200)
