"""Existing Slack apps as consumers, unchanged: ``--wsgi`` in-process and ``--forward`` over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier
from werkzeug.serving import make_server

from consumers.errors import AppFailed, PermanentFailure
from consumers.replay import Replayer, app_answer
from consumers.retries import ERROR_HEADER, RETRIES_HEADER
from slack_fanout.envelope import Envelope, Reply, Verification
from slack_fanout.topology import consumer_queue, dead_letter_queue
from testbed import slack
from testbed.apps import seed_bot
from testbed.envelopes import an_envelope
from testbed.processes import Process, python_module, running
from tests.support.broker import VirtualHost, publish

NAME = "legacy"
DEAD = dead_letter_queue(NAME)
STALE = 600
"""Seconds: a request this old is past Slack's five-minute signature window."""


def envelope(text: str, signed_ago: int = 0) -> Envelope:
    return an_envelope(text, path="/slack/commands", signed_at=int(time.time()) - signed_ago)


# The replayed request, before any broker is involved.


def test_the_replayed_request_is_the_original_byte_for_byte() -> None:
    original = envelope("hi")
    request = Replayer().rebuild(original)
    assert request.body == original.body.encode()
    assert request.path == "/slack/commands"
    assert request.headers["content-type"] == slack.FORM
    assert request.headers["x-slack-signature"] == original.headers["x-slack-signature"]


def test_given_the_secret_a_stale_request_is_signed_afresh_over_the_same_bytes() -> None:
    request = Replayer(slack.SIGNING_SECRET).rebuild(envelope("hi", signed_ago=STALE))
    assert abs(int(request.headers["x-slack-request-timestamp"]) - time.time()) < 5
    assert SignatureVerifier(slack.SIGNING_SECRET).is_valid_request(request.body, request.headers)


def test_a_request_verified_by_token_carries_no_signature_to_renew() -> None:
    token_verified = envelope("hi").model_copy(update={"verified_by": Verification.TOKEN, "headers": {}})
    request = Replayer(slack.SIGNING_SECRET).rebuild(token_verified)
    assert "x-slack-signature" not in request.headers


def test_a_request_that_came_over_socket_mode_is_signed_though_it_never_had_a_signature() -> None:
    socket_mode = envelope("hi").model_copy(
        update={"verified_by": Verification.SOCKET_MODE, "headers": {"content-type": slack.FORM}}
    )
    request = Replayer(slack.SIGNING_SECRET).rebuild(socket_mode)
    assert SignatureVerifier(slack.SIGNING_SECRET).is_valid_request(request.body, request.headers)


@pytest.mark.parametrize(
    ("status", "raised"),
    [(400, PermanentFailure), (401, PermanentFailure), (404, PermanentFailure), (408, AppFailed),
     (429, AppFailed), (500, AppFailed), (503, AppFailed), (302, AppFailed)],
)  # fmt: skip
def test_an_app_answer_other_than_2xx_is_a_failure_and_a_4xx_is_final(status: int, raised: type) -> None:
    with pytest.raises(raised, match=f"HTTP {status}"):
        app_answer(status, "text/plain", b"no")


def test_a_2xx_answer_is_the_reply_with_its_content_type() -> None:
    assert app_answer(200, "application/json", b"{}") == Reply("application/json", b"{}")
    assert app_answer(204, "", b"") == Reply("text/plain; charset=utf-8", b"")


# The same app behind a real consumer process and the real broker.


@contextmanager
def legacy_consumer(vhost: VirtualHost, tmp_path: Path, *target: str, **env: str) -> Iterator[Process]:
    argv = python_module("consumers", "run", NAME, *target, "--prefetch", "1")
    process_env = {
        "AMQP_URL": vhost.amqp_url,
        "SEED_SIGNING_SECRET": slack.SIGNING_SECRET,
        "SEED_RECORD_FILE": str(tmp_path / "answered.txt"),
        "CONSUMER_RETRY_DELAYS_MS": "[100, 100]",
        **env,
    }
    with running(argv, process_env, tmp_path / "consumer.log") as process:
        process.wait_for_log("consuming", consumer=NAME)
        yield process


def answered(tmp_path: Path) -> list[str]:
    record = tmp_path / "answered.txt"
    return record.read_text().splitlines() if record.exists() else []


def dead_letters(vhost: VirtualHost) -> list[tuple[str, dict]]:
    letters = vhost.drain_with_headers(DEAD)
    return [(Envelope.decode(body).payload["text"], headers) for body, headers in letters]


@contextmanager
def seed_bot_server() -> Iterator[str]:
    """The seed bot on a real HTTP server in this process (its settings come from this environment)."""
    server = make_server("127.0.0.1", 0, seed_bot.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/slack/commands"
    finally:
        server.shutdown()


WSGI = ("--wsgi", "testbed.apps.seed_bot:app")


def test_a_flask_app_runs_unchanged_in_process_and_a_stale_request_is_signed_afresh(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with legacy_consumer(vhost, tmp_path, *WSGI, SLACK_SIGNING_SECRET=slack.SIGNING_SECRET) as process:
        publish(vhost, envelope("Paris").encode())
        publish(vhost, envelope("Lima", signed_ago=STALE).encode())
        process.wait_for(lambda: answered(tmp_path) == ["Paris", "Lima"], "both answered by the app")
    assert vhost.queue_depth(consumer_queue(NAME)) == 0


def test_without_the_secret_an_app_refuses_a_stale_request_and_it_is_dead_lettered_at_once(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with legacy_consumer(vhost, tmp_path, *WSGI) as process:
        publish(vhost, envelope("Lima", signed_ago=STALE).encode())
        process.wait_for(lambda: vhost.queue_depth(DEAD) == 1, "the refused request dead-lettered")
        assert len([r for r in process.log_records() if r["message"].startswith("handler refused")]) == 1
    [(text, headers)] = dead_letters(vhost)
    assert text == "Lima"
    assert "HTTP 401" in headers[ERROR_HEADER]
    assert headers[RETRIES_HEADER] == 1  # no retry: a 4xx is final


def test_a_forwarded_app_gets_the_request_and_its_failures_are_retried_or_final(
    vhost: VirtualHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEED_SIGNING_SECRET", slack.SIGNING_SECRET)
    monkeypatch.setenv("SEED_RECORD_FILE", str(tmp_path / "answered.txt"))
    with seed_bot_server() as url, legacy_consumer(vhost, tmp_path, "--forward", url) as process:
        for text in ("Paris", "fail", "refuse", "Oslo"):
            publish(vhost, envelope(text).encode())
        process.wait_for(lambda: vhost.queue_depth(DEAD) == 2, "the failing and the refused request dead")
        assert answered(tmp_path) == ["Paris", "Oslo"]
    letters = dict(dead_letters(vhost))
    assert "HTTP 500: database unavailable" in letters["fail"][ERROR_HEADER]
    assert letters["fail"][RETRIES_HEADER] == 3  # the first attempt and both retries
    assert "HTTP 400: unknown command" in letters["refuse"][ERROR_HEADER]
    assert letters["refuse"][RETRIES_HEADER] == 1


def test_a_forward_target_that_is_down_costs_no_message(vhost: VirtualHost, tmp_path: Path) -> None:
    nowhere = "http://127.0.0.1:9/slack/commands"  # the discard port: connection refused
    with legacy_consumer(
        vhost, tmp_path, "--forward", nowhere, CONSUMER_RETRY_DELAYS_MS="[60000]"
    ) as process:
        publish(vhost, envelope("Paris").encode())
        failure = process.wait_for_log("handler failed")
    assert failure["error_type"] == "AppFailed"
    assert "POST http://127.0.0.1:9/slack/commands failed" in failure["error"]
    assert vhost.queue_depth(DEAD) == 0  # waiting for its retry, not lost
