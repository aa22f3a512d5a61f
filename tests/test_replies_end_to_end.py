"""Synchronous answers through the whole system: an unchanged Flask bot as the primary, behind the gateway.

Real gunicorn gateway with reply passthrough, real consumer processes, the real broker;
Slack's ``response_url`` is a local recorder.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from slack_fanout.envelope import Envelope
from slack_fanout.topology import consumer_queue, consumer_queue_arguments
from testbed import http, slack
from testbed.apps import seed_bot
from testbed.processes import Process, python_module, running, running_gateway
from testbed.slack import SlackRequest
from tests.support.broker import VirtualHost
from tests.support.gateway import Answer, post
from tests.support.recorder import SlackRecorder

DEADLINE_MS = 1000
AUDIT_QUEUE = "test.audit"
SEED_BOT = ("--wsgi", "testbed.apps.seed_bot:app")
RESPONSE_PATH = "/commands/T1/1"


@dataclass(frozen=True)
class System:
    url: str
    slack: SlackRecorder
    vhost: VirtualHost
    tmp_path: Path

    @contextmanager
    def consumer(self, name: str, *options: str) -> Iterator[Process]:
        argv = python_module("consumers", "run", name, *SEED_BOT, *options)
        env = {
            "AMQP_URL": self.vhost.amqp_url,
            "SEED_SIGNING_SECRET": slack.SIGNING_SECRET,
            "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
        }
        with running(argv, env, self.tmp_path / f"{name}-{time.monotonic_ns()}.log") as process:
            process.wait_for_log("consuming", consumer=name)
            yield process

    def slash_command(self, text: str) -> SlackRequest:
        body = slack.slash_command(text=text, response_url=self.slack.url + RESPONSE_PATH)
        return dataclasses.replace(slack.signed(body, slack.FORM), path="/slack/commands")


@pytest.fixture
def system(vhost: VirtualHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    monkeypatch.setenv("SEED_SIGNING_SECRET", slack.SIGNING_SECRET)  # for the bot called directly here
    recorder = SlackRecorder()
    vhost.bind_to_inbound(AUDIT_QUEUE)  # a third consumer's queue, read directly by the test
    # the primary's, as it declares it: it holds requests while the primary is down
    vhost.bind_to_inbound(consumer_queue("primary"), arguments=consumer_queue_arguments("primary"))
    options = {"REPLY_PASSTHROUGH": "true", "REPLY_DEADLINE_MS": str(DEADLINE_MS)}
    try:
        with running_gateway(vhost.amqp_url, tmp_path / "gateway.log", **options) as (_gateway, url):
            yield System(url, recorder, vhost, tmp_path)
    finally:
        recorder.close()


def the_bot_itself(request: slack.SlackRequest) -> Answer:
    """What the bot answers when Slack calls it directly, as before the gateway."""
    return post(seed_bot.app.test_client(), request)


def test_the_bots_own_answer_reaches_slack_byte_identical_while_every_consumer_gets_the_request(
    system: System,
) -> None:
    request = system.slash_command("Paris")
    with system.consumer("primary", "--reply"), system.consumer("shadow", "--shadow") as shadow:
        reply = http.post(system.url, request)
        recorded = shadow.wait_for_log("slack call recorded")
    direct = the_bot_itself(request)
    assert reply.status == 200
    assert reply.body == direct.body
    assert reply.headers["Content-Type"] == direct.headers["Content-Type"]
    assert recorded["method"] == "reply"  # the shadow answered too: recorded, never sent
    assert json.loads(recorded["arguments"]["body"]) == json.loads(direct.body)
    with system.vhost.channel() as channel:
        _method, _properties, body = channel.basic_get(AUDIT_QUEUE, auto_ack=True)
    assert Envelope.decode(body).body.encode() == request.body
    assert system.slack.calls == []


def test_with_the_primary_stopped_slack_gets_an_empty_200_and_the_answer_later_by_response_url(
    system: System,
) -> None:
    request = system.slash_command("Lima")
    reply = http.post(system.url, request)
    assert (reply.status, reply.body) == (200, b"")
    assert reply.elapsed < (DEADLINE_MS + 200) / 1000
    assert system.vhost.queue_depth(consumer_queue("primary")) == 1  # waiting for the primary
    with system.consumer("primary", "--reply") as primary:
        [late] = system.slack.wait_for(RESPONSE_PATH)
        primary.wait_for_log("late reply", route="response_url")
    assert late.json() == json.loads(the_bot_itself(request).body)


def test_a_primary_slower_than_the_deadline_answers_once_by_response_url(system: System) -> None:
    with system.consumer("primary", "--reply") as primary:
        reply = http.post(system.url, system.slash_command("sleep:1.5"))
        assert (reply.status, reply.body) == (200, b"")
        assert DEADLINE_MS / 1000 <= reply.elapsed < (DEADLINE_MS + 200) / 1000
        [late] = system.slack.wait_for(RESPONSE_PATH)
        primary.wait_for_log("late reply", route="response_url")
    # The consumer has stopped, finishing what it had in hand: every answer it would send is sent.
    assert late.json()["text"] == "Forecast for sleep:1.5: sunny"
    assert len(system.slack.calls_to(RESPONSE_PATH)) == 1


def interaction(payload_type: str) -> slack.SlackRequest:
    payload = {"type": payload_type, "token": slack.VERIFICATION_TOKEN, "team": {"id": "T0001"},
               "user": {"id": "U2147483697"}, "view": {"id": "V1", "callback_id": "forecast"}}  # fmt: skip
    body = slack.form({"payload": json.dumps(payload)})
    return dataclasses.replace(slack.signed(body, slack.FORM), path="/slack/interactive")


@pytest.mark.parametrize("payload_type", ["view_submission", "block_suggestion"])
def test_modal_validation_errors_and_select_options_pass_through(system: System, payload_type: str) -> None:
    request = interaction(payload_type)
    with system.consumer("primary", "--reply"):
        reply = http.post(system.url, request)
    assert reply.body == the_bot_itself(request).body
    assert reply.body != b""


def test_an_events_api_callback_never_waits(system: System) -> None:
    with system.consumer("primary", "--reply"):
        reply = http.post(system.url, slack.signed(slack.event_callback(), slack.JSON))
    assert (reply.status, reply.body) == (200, b"")
    assert reply.elapsed < 0.5
