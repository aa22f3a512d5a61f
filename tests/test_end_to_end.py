"""The whole path, as deployed: Slack request → gunicorn gateway → fanout exchange → primary and shadow.

Real processes against the real broker; Slack's side of the wire is a local recorder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from slack_fanout.envelope import Envelope, Kind, Verification
from testbed import http, slack
from testbed.processes import Process, python_module, running, running_gateway
from tests.support.broker import VirtualHost
from tests.support.recorder import SlackRecorder

BOT_TOKEN = "xoxb-end-to-end-test"
AUDIT_QUEUE = "test.audit"


@dataclass(frozen=True)
class System:
    url: str
    gateway: Process
    primary: Process
    shadow: Process
    slack: SlackRecorder
    vhost: VirtualHost

    def consumers(self) -> tuple[Process, Process]:
        return self.primary, self.shadow


@pytest.fixture
def system(vhost: VirtualHost, tmp_path: Path) -> Iterator[System]:
    recorder = SlackRecorder()
    vhost.bind_to_inbound(AUDIT_QUEUE)  # a third consumer's queue, read directly by the test
    env = {"AMQP_URL": vhost.amqp_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": f"{recorder.url}/api/"}
    try:
        with (
            running(python_module("consumers.primary"), env, tmp_path / "primary.log") as primary,
            running(python_module("consumers.shadow"), env, tmp_path / "shadow.log") as shadow,
        ):
            primary.wait_for_log("consuming")
            shadow.wait_for_log("consuming")
            with running_gateway(vhost.amqp_url, tmp_path / "gateway.log") as (gateway, url):
                yield System(url, gateway, primary, shadow, recorder, vhost)
    finally:
        recorder.close()


def requests_of_every_kind(slack_url: str) -> dict[Kind, slack.SlackRequest]:
    return {
        Kind.SLASH_COMMAND: slack.signed(
            slack.slash_command(text="forecast", response_url=f"{slack_url}/commands/T1/1"), slack.FORM
        ),
        Kind.EVENT_CALLBACK: slack.signed(slack.event_callback(text="<@U0BOT> hi"), slack.JSON),
        Kind.INTERACTIVE: slack.signed(
            slack.block_action(value="approve", response_url=f"{slack_url}/actions/T1/1"), slack.FORM
        ),
        Kind.OUTGOING_WEBHOOK: slack.SlackRequest(
            slack.outgoing_webhook(), {"Content-Type": slack.FORM}, path="/"
        ),
    }


@pytest.mark.parametrize(
    "kind",
    [Kind.SLASH_COMMAND, Kind.EVENT_CALLBACK, Kind.INTERACTIVE, Kind.OUTGOING_WEBHOOK],
    ids=lambda kind: kind.value,
)
def test_every_kind_of_request_reaches_every_consumer_byte_identical(system: System, kind: Kind) -> None:
    request = requests_of_every_kind(system.slack.url)[kind]
    reply = http.post(system.url, request)
    assert (reply.status, reply.body) == (200, b"")

    [message] = system.vhost.drain(AUDIT_QUEUE)
    envelope = Envelope.decode(message)
    assert envelope.kind is kind
    assert envelope.body.encode() == request.body
    assert envelope.verified_by is (
        Verification.TOKEN if kind is Kind.OUTGOING_WEBHOOK else Verification.SIGNATURE
    )
    for consumer in system.consumers():
        handled = consumer.wait_for_log("handled", envelope_id=envelope.id)
        assert handled["message_sha256"] == hashlib.sha256(message).hexdigest()


def test_the_primary_answers_through_slack_and_the_shadow_only_records(system: System) -> None:
    slash = requests_of_every_kind(system.slack.url)[Kind.SLASH_COMMAND]
    mention = requests_of_every_kind(system.slack.url)[Kind.EVENT_CALLBACK]
    assert http.post(system.url, slash).status == 200
    assert http.post(system.url, mention).status == 200

    [response] = system.slack.wait_for("/commands/T1/1")
    assert "forecast" in response.json()["text"]
    [posted] = system.slack.wait_for("/api/chat.postMessage")
    assert posted.headers["Authorization"] == f"Bearer {BOT_TOKEN}"

    recorded = [
        system.shadow.wait_for_log("slack call recorded", method=method)
        for method in ("respond", "chat.postMessage")
    ]
    assert all(record["consumer"] == "shadow" for record in recorded)
    for process in (system.primary, system.shadow):
        process.wait_for_log("handled", kind="event_callback")
    assert len(system.slack.calls) == 2  # the primary's two; nothing from the shadow


def test_refused_requests_reach_no_consumer(system: System) -> None:
    good = slack.signed(slack.slash_command(response_url=f"{system.slack.url}/commands/T1/2"), slack.FORM)
    refused = [
        slack.SlackRequest(good.body, {**good.headers, **slack.sign(good.body, secret="wrong")}),
        slack.SlackRequest(good.body, {**good.headers, **slack.sign(good.body, timestamp=1_500_000_000)}),
        slack.SlackRequest(good.body.replace(b"hello", b"HELLO"), good.headers),
        slack.SlackRequest(slack.outgoing_webhook().replace(slack.VERIFICATION_TOKEN.encode(), b"x"),
                           {"Content-Type": slack.FORM}),
        slack.signed(slack.slash_command(text="x" * (1024 * 1024)), slack.FORM),
    ]  # fmt: skip
    assert [http.post(system.url, request).status for request in refused] == [401, 401, 401, 401, 413]
    assert http.post(system.url, good).status == 200  # a marker: consumers are live and in order
    [message] = system.vhost.drain(AUDIT_QUEUE)
    marker = Envelope.decode(message).id
    for consumer in system.consumers():
        handled_marker = consumer.wait_for_log("handled", envelope_id=marker)
        assert [r for r in consumer.log_records() if r.get("message") == "handled"] == [handled_marker]
