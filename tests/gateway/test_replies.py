"""Reply passthrough: a consumer's answer, sent to the reply-to address in time, becomes Slack's response."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pika
import pytest
from flask import Flask

from gateway.replies import ReplyBreaker, ReplyOutcome, judge, waits_for_reply, with_deadline
from gateway.settings import GatewaySettings
from slack_fanout.envelope import Envelope, Kind, Reply
from slack_fanout.settings import ConfigError, load_settings
from testbed import slack
from testbed.envelopes import an_envelope
from testbed.waiting import eventually
from tests.support.broker import VirtualHost
from tests.support.gateway import gateway_app, post

DEADLINE_MS = 400
QUEUE = "test.primary"


class Replier:
    """A stand-in primary: answers each message on its reply-to, after ``delay`` seconds."""

    def __init__(self, vhost: VirtualHost, answer: bytes, content_type: str, delay: float = 0) -> None:
        self.answer, self.content_type, self.delay = answer, content_type, delay
        self.received: list[pika.BasicProperties] = []
        self._connection = pika.BlockingConnection(pika.URLParameters(vhost.amqp_url))
        self._channel = self._connection.channel()
        self._channel.basic_consume(QUEUE, self._on_message, auto_ack=True)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            self._connection.process_data_events(time_limit=0.05)
        self._connection.close()

    def _on_message(self, channel, _method, properties: pika.BasicProperties, _body: bytes) -> None:
        self.received.append(properties)
        time.sleep(self.delay)
        if properties.reply_to:
            reply = pika.BasicProperties(
                correlation_id=properties.correlation_id, content_type=self.content_type
            )
            channel.basic_publish("", properties.reply_to, self.answer, reply)

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)


@pytest.fixture
def app(vhost: VirtualHost) -> Iterator[Flask]:
    vhost.bind_to_inbound(QUEUE, "test.shadow")
    with gateway_app(vhost.amqp_url, reply_passthrough=True, reply_deadline_ms=DEADLINE_MS) as app:
        yield app


@pytest.fixture
def replier_factory(vhost: VirtualHost) -> Iterator:
    repliers: list[Replier] = []

    def start(answer: bytes, content_type: str = "application/json", delay: float = 0) -> Replier:
        repliers.append(Replier(vhost, answer, content_type, delay))
        return repliers[-1]

    yield start
    for replier in repliers:
        replier.close()


def test_the_answer_of_a_consumer_is_returned_to_slack_byte_identical(
    app: Flask, vhost: VirtualHost, replier_factory
) -> None:
    answer = b'{"response_type": "in_channel", "text": "Sunny in Oslo"}'
    replier_factory(answer)
    response = post(app.test_client(), slack.signed(slack.slash_command(), slack.FORM))
    assert (response.status, response.body) == (200, answer)
    assert response.headers["Content-Type"] == "application/json"
    [shadow_copy] = vhost.drain("test.shadow")  # still fanned out to every queue
    assert Envelope.decode(shadow_copy).reply_by is not None


def test_without_an_answer_slack_gets_the_empty_200_at_the_deadline(app: Flask, vhost: VirtualHost) -> None:
    response = post(app.test_client(), slack.signed(slack.slash_command(), slack.FORM))
    assert (response.status, response.body) == (200, b"")
    assert DEADLINE_MS / 1000 <= response.elapsed < DEADLINE_MS / 1000 + 0.2
    assert vhost.queue_depth(QUEUE) == 1  # safe in the queue, for the primary to handle later


def test_an_answer_after_the_deadline_is_dropped_and_the_next_request_is_unaffected(
    app: Flask, replier_factory
) -> None:
    replier_factory(b'{"text": "late"}', delay=DEADLINE_MS / 1000 + 0.2)
    first = post(app.test_client(), slack.signed(slack.slash_command(text="first"), slack.FORM))
    second = post(app.test_client(), slack.signed(slack.slash_command(text="second"), slack.FORM))
    assert first.body == second.body == b""


def test_events_api_callbacks_never_wait(app: Flask, replier_factory) -> None:
    replier = replier_factory(b'{"text": "ignored"}', delay=1)
    response = post(app.test_client(), slack.signed(slack.event_callback(), slack.JSON))
    assert (response.status, response.body) == (200, b"")
    assert response.elapsed < 0.2
    [received] = eventually(lambda: replier.received, "the event at the stand-in primary")
    assert received.reply_to is None


def test_a_modal_submission_gets_its_validation_errors_back(app: Flask, replier_factory) -> None:
    answer = json.dumps({"response_action": "errors", "errors": {"title": "Too short"}}).encode()
    replier_factory(answer)
    payload = {"type": "view_submission", "token": slack.VERIFICATION_TOKEN, "view": {"id": "V1"}}
    response = post(app.test_client(), slack.signed(slack.form({"payload": json.dumps(payload)}), slack.FORM))
    assert response.body == answer


def test_block_actions_do_not_wait_by_default() -> None:
    block_action = {"kind": Kind.INTERACTIVE, "payload": {"type": "block_actions"}}
    envelope = an_envelope().model_copy(update=block_action)
    assert not waits_for_reply(envelope, GatewaySettings(slack_signing_secret="x").reply_kinds)


def test_a_deadline_slack_would_not_wait_for_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "x")
    monkeypatch.setenv("REPLY_DEADLINE_MS", "3000")
    with pytest.raises(ConfigError, match="REPLY_DEADLINE_MS"):
        load_settings(GatewaySettings)


def test_while_the_primary_answers_nothing_requests_stop_waiting_so_workers_stay_free(
    app: Flask, vhost: VirtualHost
) -> None:
    for text in ("one", "two", "three"):  # each waits out the deadline
        waited = post(app.test_client(), slack.signed(slack.slash_command(text=text), slack.FORM))
        assert waited.elapsed >= DEADLINE_MS / 1000
    response = post(app.test_client(), slack.signed(slack.slash_command(text="four"), slack.FORM))
    assert (response.status, response.body) == (200, b"")
    assert response.elapsed < 0.2
    fourth = Envelope.decode(vhost.drain("test.shadow")[-1])
    assert fourth.reply_by == fourth.received_at  # not waited for: the answer goes by response_url


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_after_misses_in_a_row_only_one_probe_waits_per_interval_and_an_answer_restores_waiting() -> None:
    clock = FakeClock()
    breaker = ReplyBreaker(threshold=2, probe_interval=5, clock=clock)
    for _ in range(2):
        assert breaker.should_wait()
        breaker.record(answered=False)
    assert not breaker.should_wait()
    clock.now = 5.0
    assert breaker.should_wait()  # the first probe
    assert not breaker.should_wait()  # one probe at a time
    breaker.record(answered=False)
    clock.now = 9.9
    assert not breaker.should_wait()
    clock.now = 10.0
    assert breaker.should_wait()  # the next probe
    breaker.record(answered=True)
    assert breaker.should_wait() and breaker.should_wait()


def test_an_answer_resets_the_count_of_misses() -> None:
    breaker = ReplyBreaker(threshold=2, clock=FakeClock())
    for answered in (False, True, False):
        breaker.record(answered)
    assert breaker.should_wait() and breaker.should_wait()


def test_a_wait_is_judged_by_its_answer_and_the_size_slack_takes() -> None:
    assert judge(None, max_bytes=10) is ReplyOutcome.NONE
    assert judge(Reply("text/plain", b"x" * 10), max_bytes=10) is ReplyOutcome.IN_TIME
    assert judge(Reply("text/plain", b"x" * 11), max_bytes=10) is ReplyOutcome.TOO_LARGE


def test_the_deadline_a_consumer_reads_runs_from_the_requests_arrival() -> None:
    envelope = an_envelope()
    assert with_deadline(envelope, 2.5).reply_by == envelope.received_at + timedelta(seconds=2.5)
    assert with_deadline(envelope, 0).reply_by == envelope.received_at, "not awaited: answer by response_url"
