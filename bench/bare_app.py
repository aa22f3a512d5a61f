"""The ceiling: a Flask app that answers the Slack endpoint with an empty 200 and does nothing else."""

from flask import Flask

app = Flask(__name__)


@app.post("/slack/events")
def inbound() -> tuple[str, int]:
    return "", 200
