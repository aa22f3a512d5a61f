"""Specification of live Slack side effects, against a local stand-in for Slack."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from consumers.errors import SlackCallFailed
from consumers.slack_actions import LiveSlack
from slack_fanout.logs import BoundLogger
from tests.support.processes import free_port
from tests.support.recorder import SlackRecorder

LOG = BoundLogger(logging.getLogger("test.slack"), {})


@pytest.fixture
def recorder() -> Iterator[SlackRecorder]:
    recorder = SlackRecorder()
    yield recorder
    recorder.close()


def test_respond_posts_the_message_as_json_to_the_response_url(recorder: SlackRecorder) -> None:
    LiveSlack(None, f"{recorder.url}/api/", LOG).respond(f"{recorder.url}/commands/1", {"text": "hi"})
    [call] = recorder.calls_to("/commands/1")
    assert call.json() == {"text": "hi"}


def test_post_message_calls_chat_post_message_with_the_bot_token(recorder: SlackRecorder) -> None:
    LiveSlack("xoxb-1", f"{recorder.url}/api/", LOG).post_message("C1", "hello")
    [call] = recorder.calls_to("/api/chat.postMessage")
    assert call.headers["Authorization"] == "Bearer xoxb-1"


def test_without_a_bot_token_post_message_is_skipped_not_failed(
    recorder: SlackRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    LiveSlack(None, f"{recorder.url}/api/", LOG).post_message("C1", "hello")
    assert recorder.calls == []
    assert "chat.postMessage skipped" in caplog.text


def test_an_unreachable_response_url_is_a_failure_so_the_message_is_retried() -> None:
    with pytest.raises(SlackCallFailed):
        LiveSlack(None, "http://127.0.0.1:9/api/", LOG).respond(
            f"http://127.0.0.1:{free_port()}/x", {"text": "hi"}
        )
