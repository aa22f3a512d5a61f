"""A bot that goes around slack_sdk: it posts to Slack's Web API with ``requests`` and with ``urllib``.

Run as a shadow (``--wsgi testbed.apps.escaping_bot:app --shadow``), both posts must be
refused by the guard and recorded as escapes; it answers which of them were refused.
"""

from __future__ import annotations

import urllib.request

import requests
from flask import Flask, Response, jsonify

app = Flask(__name__)

URL = "https://slack.com/api/chat.postMessage"


@app.post("/slack/events")
def event() -> Response:
    refused = []
    try:
        requests.post(URL, json={"channel": "C1", "text": "from requests"}, timeout=2)
    except requests.ConnectionError:
        refused.append("requests")
    try:
        urllib.request.urlopen(urllib.request.Request(URL, data=b"channel=C1&text=urllib"), timeout=2)
    except OSError:
        refused.append("urllib")
    return jsonify(refused=refused)
