"""An unchanged Bolt app as primary and as shadow behind the gateway: what each did in Slack, recorded.

Real gunicorn gateway, real consumer processes running ``testbed/apps/bolt_bot.py`` with
``--wsgi``, real slack_bolt and slack_sdk, the real broker. The primary's Slack calls are
retargeted to a fake Slack on loopback; the shadow's must reach nothing at all.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from slack_fanout.behaviour import BehaviourRecord, CallMode, Outcome
from testbed import slack
from testbed.envelopes import an_envelope
from testbed.http import get
from testbed.processes import REPO, free_port, python_module, running
from tests.support.behaviour import (
    BOT_TOKEN,
    SHADOW_TOKEN,
    Settled,
    app_mention,
    read_records,
    run_primary_and_candidate,
    slash_command,
)
from tests.support.broker import Broker, VirtualHost, publish

SECRET_PATH = "bWFkZS11cC1zZWNyZXQ"


def response_url(name: str) -> str:
    return f"https://hooks.slack.com/commands/T0001/{name}/{SECRET_PATH}"


def requests() -> list[slack.SlackRequest]:
    """Signed as the run starts: a request signed at collection is stale five minutes into the suite."""
    return [
        slash_command("/deploy", "v1.2", response_url("deploy")),
        app_mention("<@U0BOT> status?", f"Ev{uuid.uuid4().hex[:10]}"),
        slash_command("/report", "q3", response_url("report")),
        slash_command("/deploy", "slow-v2", response_url("slow")),  # its listener runs on as the next comes
        app_mention("<@U0BOT> and now?", f"Ev{uuid.uuid4().hex[:10]}"),
    ]


@pytest.fixture(scope="module")
def settled(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settled]:
    """One run of the whole system for every test here (a fresh vhost, deleted afterwards)."""
    name = f"test-shadow-capture-{uuid.uuid4().hex[:8]}"
    broker.management.create_vhost(name)
    try:
        vhost = broker.virtual_host(name, connection_name=__name__)
        yield run_primary_and_candidate(vhost, tmp_path_factory.mktemp("shadow-capture"), requests())
    finally:
        broker.management.delete_vhost(name)


def by_endpoint(records: list[BehaviourRecord], endpoint: str) -> list[BehaviourRecord]:
    return [record for record in records if record.endpoint == endpoint]


def texts(record: BehaviourRecord) -> list[tuple[str, str, str]]:
    return [(call.target.value, call.method, str(call.arguments.get("text", ""))) for call in record.calls]


def test_the_fake_slack_sees_the_primarys_calls_and_none_from_the_shadow(settled: Settled) -> None:
    sent = [call for record in settled.primary for call in record.calls]
    assert all(call.mode is CallMode.SENT for call in sent)
    assert sent, "the primary made calls"
    web_api = [call for call in settled.slack_calls if call.path.startswith("/api/")]
    assert {call.headers.get("Authorization") for call in web_api} == {f"Bearer {BOT_TOKEN}"}
    at_start = 1  # App() called auth.test once, as it was built, before any request
    assert len(settled.slack_calls) == len(sent) + at_start
    shadow_calls = [call for record in settled.candidate for call in record.calls]
    assert shadow_calls and all(call.mode is CallMode.SUPPRESSED for call in shadow_calls)
    assert all(record.escapes == [] for record in settled.candidate)


def test_both_sides_made_the_same_calls_with_the_same_arguments_but_slacks_values(settled: Settled) -> None:
    assert len(settled.pairs()) == len(requests())
    for primary, candidate in settled.pairs():
        assert (primary.outcome, candidate.outcome) == (Outcome.HANDLED, Outcome.HANDLED)
        assert primary.answer == candidate.answer
        assert texts(primary) == texts(candidate)
        assert (primary.shadow, candidate.shadow) == (False, True)
        assert primary.settled and candidate.settled


def test_the_shadows_say_gets_a_ts_and_its_app_goes_on_with_it(settled: Settled) -> None:
    for record in by_endpoint(settled.candidate, "event:app_mention"):
        first, second = record.calls[-2:]
        assert (first.method, second.method) == ("chat.postMessage", "chat.postMessage")
        assert first.response is not None and first.response["ok"] is True
        assert second.arguments["thread_ts"] == first.response["ts"]
        assert first.response["channel"] == "C2147483705"


def test_an_ack_answers_slack_at_once_and_respond_follows_from_bolts_thread_pool(settled: Settled) -> None:
    deploy, _mention, report, slow, _mention2 = settled.replies
    assert (deploy.status, deploy.body) == (200, b"Deploying v1.2...")
    assert (slow.status, slow.body) == (200, b"Deploying slow-v2...")
    assert report.status == 200
    deploys = by_endpoint(settled.primary, "command:/deploy")
    [record] = [r for r in deploys if r.answer is not None and "v1.2" in r.answer.body]
    assert texts(record) == [("webhook", "response_url", "Deployed v1.2")]


def test_calls_on_bolts_thread_pool_and_lazy_listeners_go_to_their_own_envelope(settled: Settled) -> None:
    for side in (settled.primary, settled.candidate):
        deploys = {r.answer.body: texts(r) for r in by_endpoint(side, "command:/deploy") if r.answer}
        assert deploys == {
            "Deploying v1.2...": [("webhook", "response_url", "Deployed v1.2")],
            "Deploying slow-v2...": [("webhook", "response_url", "Deployed slow-v2")],
        }
        [report] = by_endpoint(side, "command:/report")
        assert texts(report)[-1] == ("web_api", "chat.postMessage", "Report on q3: all green")
        mentions = by_endpoint(side, "event:app_mention")
        assert [texts(r)[-2:] for r in mentions] == [
            [
                ("web_api", "chat.postMessage", "Hello <@U2147483697>"),
                ("web_api", "chat.postMessage", "On it."),
            ]
        ] * 2


def test_no_secret_is_in_any_record(settled: Settled) -> None:
    for record in settled.primary + settled.candidate:
        raw = record.encode().decode()
        for secret in (BOT_TOKEN, SHADOW_TOKEN, slack.SIGNING_SECRET, slack.VERIFICATION_TOKEN, SECRET_PATH):
            assert secret not in raw
        if "response_url" in record.inbound:
            assert record.inbound["response_url"] == "https://hooks.slack.com/[redacted]"


def test_records_carry_the_request_its_endpoint_and_the_code_version(settled: Settled) -> None:
    endpoints = sorted(record.endpoint for record in settled.candidate)
    assert endpoints == ["command:/deploy", "command:/deploy", "command:/report", "event:app_mention",
                         "event:app_mention"]  # fmt: skip
    assert {record.code_version for record in settled.primary} == {"primary"}
    for record in settled.primary:
        assert record.calls == sorted(record.calls, key=lambda call: call.offset_ms)
        assert record.duration_ms >= max((c.offset_ms + c.duration_ms for c in record.calls), default=0)
    mention = by_endpoint(settled.primary, "event:app_mention")[0]
    assert mention.inbound["event"]["type"] == "app_mention"
    assert mention.answer is not None and mention.answer.status == 200


def test_a_shadow_app_posting_to_slack_with_its_own_http_client_is_refused_and_counted(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    port = free_port()
    argv = python_module(
        "consumers", "run", "candidate", "--wsgi", "testbed.apps.escaping_bot:app", "--shadow"
    )
    env = {"AMQP_URL": vhost.amqp_url, "CONSUMER_METRICS_PORT": str(port)}
    with running(argv, env, tmp_path / "candidate.log") as candidate:
        candidate.wait_for_log("consuming", consumer="candidate")
        envelope = an_envelope()
        publish(vhost, envelope.encode())
        [record] = read_records(vhost, 1, consumer="candidate")
        metrics = get(f"http://127.0.0.1:{port}/metrics").body.decode()
        refused = candidate.wait_for_log("escape refused: a connection to Slack outside the capture")
    assert record.envelope_id == envelope.id
    assert record.answer is not None and json.loads(record.answer.body) == {"refused": ["requests", "urllib"]}
    assert [(e.host, e.port) for e in record.escapes] == [("slack.com", 443), ("slack.com", 443)]
    assert record.escapes[0].where.endswith("testbed/apps/escaping_bot.py:" + str(_line("requests.post")))
    assert 'slack_fanout_consumer_escapes_total{consumer="candidate"} 2.0' in metrics
    assert refused["envelope_id"] == envelope.id


def _line(text: str) -> int:
    source = (REPO / "testbed" / "apps" / "escaping_bot.py").read_text().splitlines()
    return next(number for number, line in enumerate(source, 1) if text in line)
