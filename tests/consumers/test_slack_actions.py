"""Specification of the Slack side effects: live ones against a local stand-in for Slack, recorded ones."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from consumers.errors import SlackCallFailed
from consumers.slack_actions import RecordingSlack, live_slack
from slack_fanout.logs import BoundLogger
from testbed.processes import free_port
from tests.support.logged import fields, json_lines
from tests.support.recorder import SlackRecorder

LOG = BoundLogger(logging.getLogger("test.slack"), {"envelope_id": "e1"})


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """A server that answers every POST with HTTP 501 (a handler class without ``do_POST``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_respond_posts_the_message_as_json_to_the_response_url(recorder: SlackRecorder) -> None:
    live_slack(None, f"{recorder.url}/api/")(LOG).respond(f"{recorder.url}/commands/1", {"text": "hi"})
    [call] = recorder.calls_to("/commands/1")
    assert call.json() == {"text": "hi"}


def test_post_message_calls_chat_post_message_with_the_bot_token(recorder: SlackRecorder) -> None:
    live_slack("xoxb-1", f"{recorder.url}/api/")(LOG).post_message("C1", "hello")
    [call] = recorder.calls_to("/api/chat.postMessage")
    assert call.headers["Authorization"] == "Bearer xoxb-1"
    assert call.json() == {"channel": "C1", "text": "hello"}


def test_without_a_bot_token_post_message_is_skipped_not_failed(
    recorder: SlackRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    live_slack(None, f"{recorder.url}/api/")(LOG).post_message("C1", "hello")
    assert recorder.calls == []
    assert "chat.postMessage skipped" in caplog.text


def test_an_unreachable_response_url_is_a_failure_so_the_message_is_retried() -> None:
    with pytest.raises(SlackCallFailed):
        live_slack(None, "http://127.0.0.1:9/api/")(LOG).respond(
            f"http://127.0.0.1:{free_port()}/x", {"text": "hi"}
        )


def test_a_response_url_answering_an_error_status_is_a_failure(refusing_server: str) -> None:
    with pytest.raises(SlackCallFailed, match="HTTP 501"):
        live_slack(None, f"{refusing_server}/api/")(LOG).respond(f"{refusing_server}/x", {"text": "hi"})


def test_slack_refusing_chat_post_message_is_a_failure(refusing_server: str) -> None:
    with pytest.raises(SlackCallFailed, match="HTTP 501"):
        live_slack("xoxb-1", f"{refusing_server}/api/")(LOG).post_message("C1", "hello")


def test_recording_logs_each_call_with_its_arguments_and_never_a_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    recording = RecordingSlack(LOG)
    recording.respond("https://hooks.example/1", {"text": "hi"})
    recording.post_message("C1", "hello", token="xoxb-secret", thread_ts="1.2")

    calls = [(call["method"], call["arguments"], call["envelope_id"]) for call in map(fields, caplog.records)]
    assert calls == [
        ("respond", {"response_url": "https://hooks.example/1", "message": {"text": "hi"}}, "e1"),
        ("chat.postMessage", {"channel": "C1", "text": "hello", "thread_ts": "1.2"}, "e1"),
    ]
    assert "xoxb-secret" not in json_lines(caplog)
