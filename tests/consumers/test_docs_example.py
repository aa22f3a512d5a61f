"""The handler example in docs/consumers.md runs as written, so the page cannot drift from the code."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from consumers.context import Context
from consumers.handlers import Handler
from consumers.slack_actions import RecordingSlack
from slack_fanout.envelope import Envelope, Kind, Verification
from slack_fanout.logs import BoundLogger
from testbed import slack
from tests.support.logged import captured, fields

PAGE = Path(__file__).resolve().parents[2] / "docs" / "consumers.md"


def example_handler() -> Handler:
    [code] = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    namespace: dict = {}
    exec(compile(code, str(PAGE), "exec"), namespace)
    return namespace["handle"]


@pytest.mark.parametrize(
    ("kind", "payload", "method"),
    [
        (Kind.SLASH_COMMAND, {"command": "/w", "response_url": "https://hooks.example/1"}, "respond"),
        (Kind.EVENT_CALLBACK, json.loads(slack.event_callback()), "chat.postMessage"),
    ],
)
def test_the_documented_handler_answers_through_the_context(
    caplog: pytest.LogCaptureFixture, kind: Kind, payload: dict, method: str
) -> None:
    caplog.set_level(logging.INFO)
    envelope = Envelope(
        kind=kind, verified_by=Verification.SIGNATURE, path="/slack/events", content_type=slack.JSON,
        headers={}, body=json.dumps(payload), payload=payload,
    )  # fmt: skip
    log = BoundLogger(logging.getLogger("test.docs"), {"envelope_id": envelope.id})
    example_handler()(envelope, Context("docs", envelope, log, RecordingSlack(log)))

    assert [fields(r)["method"] for r in captured(caplog, "slack call recorded")] == [method]
    assert [fields(r)["envelope_id"] for r in captured(caplog, "done")] == [envelope.id]
