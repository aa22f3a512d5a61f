"""The Socket Mode ingress as deployed: fake Slack on loopback → ingress process → slack.inbound → consumers.

Slack's side is testbed/socket_slack.py: it delivers each envelope to one connection
and delivers it again until it is acknowledged, as Slack does. Everything else is real: the
ingress and the consumers are processes, the broker is RabbitMQ.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from gateway.socket_mode.envelopes import SocketRequest, http_body
from slack_fanout.envelope import Envelope
from slack_fanout.exit_codes import ExitCode
from testbed import http, slack, socket_payloads
from testbed.private_broker import PrivateBroker
from testbed.processes import Process, python_module, running, running_gateway, running_socket_ingress
from testbed.socket_slack import FakeSlack
from tests.support.broker import VirtualHost
from tests.support.gateway import post
from tests.support.recorder import SlackRecorder
from tests.support.tcp_proxy import TcpProxy

AUDIT_QUEUE = "test.audit"
RECORD = ("--handler", "testbed.handlers:record")
BOLT = ("--wsgi", "testbed.apps.bolt_signed_bot:flask_app")
DIFFERS_BY_NATURE = {"id", "received_at", "verified_by"}
HTTP_ONLY_HEADERS = {"x-slack-signature", "x-slack-request-timestamp", "user-agent"}
"""What Slack adds to an HTTP request and the ingress cannot: the signature (consumers sign the
replayed request afresh) and the client's name."""


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(redeliver_after=1.0)
    try:
        yield fake
    finally:
        fake.close()


@contextmanager
def consumers(amqp_url: str, tmp_path: Path, *names: str, target: tuple[str, ...] = RECORD,
              env: dict[str, str] | None = None) -> Iterator[list[Process]]:  # fmt: skip
    """Consumer processes, each on a queue of its own, started together and consuming when yielded."""
    with ExitStack() as stack:
        started = [
            stack.enter_context(
                running(
                    python_module("consumers", "run", name, *target),
                    {"AMQP_URL": amqp_url, "TEST_RECORD_FILE": str(tmp_path / f"{name}.txt"), **(env or {})},
                    tmp_path / f"{name}.log",
                )
            )
            for name in names
        ]
        for process in started:
            process.wait_for_log("consuming")
        yield started


def handled(process: Process, envelope_id: str) -> list[dict]:
    return [
        r
        for r in process.log_records()
        if r.get("message") == "handled" and r.get("envelope_id") == envelope_id
    ]


def as_published_over_http(message: bytes) -> bytes:
    """The HTTP gateway's message with what differs by nature taken from nowhere: for comparison."""
    envelope = json.loads(message)
    envelope["headers"] = {k: v for k, v in envelope["headers"].items() if k not in HTTP_ONLY_HEADERS}
    return json.dumps({k: v for k, v in envelope.items() if k not in DIFFERS_BY_NATURE}).encode()


def test_every_envelope_type_reaches_every_consumer_as_the_http_gateway_would_have_published_it(
    vhost: VirtualHost, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    vhost.bind_to_inbound(AUDIT_QUEUE)  # a third consumer's queue, read directly by the test
    with (
        consumers(vhost.amqp_url, tmp_path, "first", "second") as both,
        running_gateway(vhost.amqp_url, tmp_path / "gateway.log") as (_gateway, gateway_url),
        running_socket_ingress(vhost.amqp_url, fake_slack.api_url, tmp_path / "ingress.log"),
    ):
        fake_slack.wait_for_links(2)
        for kind, payload in socket_payloads.of_every_type().items():
            envelope_id = fake_slack.send(kind, payload)
            fake_slack.wait_for_ack(envelope_id)
            [over_socket] = vhost.drain(AUDIT_QUEUE)
            content_type, body = http_body(SocketRequest(kind, envelope_id, payload))
            assert http.post(gateway_url, slack.signed(body.encode(), content_type)).status == 200
            [over_http] = vhost.drain(AUDIT_QUEUE)

            assert as_published_over_http(over_socket) == as_published_over_http(over_http), kind
            assert Envelope.decode(over_socket).id == envelope_id
            for consumer in both:
                consumer.wait_for_log("handled", envelope_id=envelope_id)
                [record] = handled(consumer, envelope_id)
                assert record["message_sha256"] == hashlib.sha256(over_socket).hexdigest()


def test_an_envelope_is_acknowledged_only_once_the_broker_confirmed_it_and_handled_once(
    private_broker: PrivateBroker, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    url = private_broker.amqp_url
    with (
        consumers(url, tmp_path, "first") as [consumer],
        running_socket_ingress(url, fake_slack.api_url, tmp_path / "ingress.log") as (ingress, _),
    ):
        fake_slack.wait_for_links(2)
        ingress.wait_for_log("connected to broker")
        private_broker.stop_app()
        envelope_id = fake_slack.send("slash_commands", socket_payloads.slash_command(text="while down"))
        ingress.wait_for_log("not published", envelope_id=envelope_id)
        fake_slack.wait_for_deliveries(envelope_id, 2)  # not acknowledged, so Slack sent it again
        assert fake_slack.acks_of(envelope_id) == []

        private_broker.start_app()
        fake_slack.wait_for_ack(envelope_id, timeout=60)
        consumer.wait_for_log("handled", envelope_id=envelope_id, timeout=60)
        marker = fake_slack.send("slash_commands", socket_payloads.slash_command(text="marker"))
        consumer.wait_for_log("handled", envelope_id=marker)  # in order: every copy before it is settled
    assert len(handled(consumer, envelope_id)) == 1
    assert (tmp_path / "first.txt").read_text().splitlines() == ["while down", "marker"]


def test_a_refresh_of_every_connection_loses_no_envelope(
    vhost: VirtualHost, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    vhost.bind_to_inbound(AUDIT_QUEUE)  # a third consumer's queue, read directly by the test
    with running_socket_ingress(vhost.amqp_url, fake_slack.api_url, tmp_path / "ingress.log") as (ingress, _):
        links = fake_slack.wait_for_links(2)
        sent = []
        for link in links:
            sent += [fake_slack.send("events_api", socket_payloads.event_callback(event_id=f"Ev{link}a{n}"))
                     for n in range(10)]  # fmt: skip
            fake_slack.disconnect(link, "refresh_requested")
            sent += [fake_slack.send("events_api", socket_payloads.event_callback(event_id=f"Ev{link}b{n}"))
                     for n in range(10)]  # fmt: skip
        for envelope_id in sent:
            fake_slack.wait_for_ack(envelope_id)
        assert len(fake_slack.wait_for_links(2, newer_than=max(links))) == 2  # both replaced
        ingress.wait_for_log("socket connected", connection="1")
    published = {Envelope.decode(message).id for message in vhost.drain(AUDIT_QUEUE)}
    assert published == set(sent)
    assert fake_slack.urls_issued == 4  # a fresh URL for each new connection


def test_an_envelope_that_is_no_request_is_acknowledged_and_published_nowhere(
    vhost: VirtualHost, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    vhost.bind_to_inbound(AUDIT_QUEUE)  # a third consumer's queue, read directly by the test
    with running_socket_ingress(vhost.amqp_url, fake_slack.api_url, tmp_path / "ingress.log") as (ingress, _):
        fake_slack.wait_for_links(2)
        unreadable = fake_slack.send("interactive", {"no": "type"})
        fake_slack.wait_for_ack(unreadable)  # no redelivery could make it readable
        ingress.wait_for_log("refused", error="unknown_payload")
        marker = fake_slack.send("events_api", socket_payloads.event_callback())
        fake_slack.wait_for_ack(marker)
    assert [Envelope.decode(message).id for message in vhost.drain(AUDIT_QUEUE)] == [marker]


def test_too_many_websockets_gives_the_connection_back_for_a_while_and_every_reconnect_is_counted(
    vhost: VirtualHost, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    vhost.bind_to_inbound(AUDIT_QUEUE)  # a third consumer's queue, read directly by the test
    with running_socket_ingress(
        vhost.amqp_url, fake_slack.api_url, tmp_path / "ingress.log",
        SOCKET_MODE_RECONNECT_DELAY_MAX_SECONDS="1",
    ) as (ingress, health_url):  # fmt: skip
        [first, second] = fake_slack.wait_for_links(2)
        crowded_at = time.monotonic()
        fake_slack.disconnect(first, "too_many_websockets", close_after=0)
        fake_slack.wait_for_links(1, newer_than=second)
        assert time.monotonic() - crowded_at >= 1  # back only after the longest reconnect delay
        fake_slack.disconnect(second, "refresh_requested")
        fake_slack.wait_for_links(2, newer_than=second)
        ingress.wait_for(lambda: metric(health_url, "slack_fanout_socket_connections") == 2, "2 greeted")
        envelope_id = fake_slack.send("events_api", socket_payloads.event_callback())
        fake_slack.wait_for_ack(envelope_id)
        assert metric(health_url, 'slack_fanout_socket_reconnects_total{reason="too_many_websockets"}') == 1
        assert metric(health_url, 'slack_fanout_socket_reconnects_total{reason="refresh_requested"}') == 1
        acked = 'slack_fanout_socket_envelopes_total{outcome="acked",type="events_api"}'
        assert metric(health_url, acked) == 1
        assert http.get(f"{health_url}/readyz").status == 200


def test_link_disabled_stops_the_ingress_with_its_own_exit_code(
    vhost: VirtualHost, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    with running_socket_ingress(vhost.amqp_url, fake_slack.api_url, tmp_path / "ingress.log") as (ingress, _):
        [first, _second] = fake_slack.wait_for_links(2)
        fake_slack.disconnect(first, "link_disabled", close_after=None)
        assert ingress.popen.wait(30) == ExitCode.LINK_DISABLED
    assert "link_disabled" in ingress.log_text()
    assert fake_slack.urls_issued == 2  # no reconnection


def test_an_app_token_slack_refuses_stops_the_ingress_with_its_own_exit_code(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    with running_socket_ingress(
        "amqp://guest:guest@127.0.0.1:1/%2F", fake_slack.api_url, tmp_path / "ingress.log",
        healthy=False, SLACK_APP_TOKEN="xapp-1-revoked",
    ) as (ingress, _):  # fmt: skip
        assert ingress.popen.wait(30) == ExitCode.LOGIN_REFUSED
    assert "invalid_auth" in ingress.log_text()
    assert "xapp-1-revoked" not in ingress.log_text()


def test_a_bolt_app_run_unchanged_answers_in_the_ack_of_its_slash_commands_and_options(
    vhost: VirtualHost, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOLT_SIGNING_SECRET", slack.SIGNING_SECRET)
    secrets = {"BOLT_SIGNING_SECRET": slack.SIGNING_SECRET, "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET}
    response_urls = SlackRecorder()  # where a late answer would go; Bolt answers in time
    requests = {
        "slash_commands": socket_payloads.slash_command(text="Lima", response_url=f"{response_urls.url}/c"),
        "interactive": {"type": "block_suggestion", "action_id": "city", "block_id": "b1", "value": "Li",
                        "team": {"id": "T0001"}, "user": {"id": "U2147483697"}, "api_app_id": "A123456",
                        "token": slack.VERIFICATION_TOKEN},
    }  # fmt: skip
    with (
        consumers(vhost.amqp_url, tmp_path, "primary", target=(*BOLT, "--reply"), env=secrets),
        running_socket_ingress(
            vhost.amqp_url, fake_slack.api_url, tmp_path / "ingress.log", REPLY_PASSTHROUGH="true"
        ),
    ):
        fake_slack.wait_for_links(2)
        for kind, payload in requests.items():
            envelope_id = fake_slack.send(kind, payload, accepts_response_payload=True)
            ack = fake_slack.wait_for_ack(envelope_id)
            assert ack.payload == what_bolt_answers_over_http(SocketRequest(kind, envelope_id, payload)), kind
    response_urls.close()
    assert response_urls.calls == []


def what_bolt_answers_over_http(request: SocketRequest) -> dict:
    bolt_bot = importlib.import_module("testbed.apps.bolt_signed_bot")  # once BOLT_SIGNING_SECRET is set
    content_type, body = http_body(request)
    response = post(bolt_bot.flask_app.test_client(), slack.signed(body.encode(), content_type))
    assert response.status == 200
    return response.json


def test_sigterm_waits_for_the_confirm_in_flight_and_acknowledges_it(
    vhost: VirtualHost, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    vhost.bind_to_inbound(AUDIT_QUEUE)  # a third consumer's queue, read directly by the test
    host, port = vhost.amqp_url.split("@", 1)[1].split("/", 1)[0].split(":")
    proxy = TcpProxy(host, int(port))
    url = vhost.amqp_url.replace(f"@{host}:{port}/", f"@127.0.0.1:{proxy.port}/")
    try:
        with running_socket_ingress(
            url, fake_slack.api_url, tmp_path / "ingress.log", PUBLISH_TIMEOUT_SECONDS="2.9"
        ) as (ingress, health_url):
            fake_slack.wait_for_links(2)
            ingress.wait_for_log("connected to broker")
            proxy.freeze()
            envelope_id = fake_slack.send("events_api", socket_payloads.event_callback())
            ingress.wait_for(
                lambda: metric(health_url, "slack_fanout_gateway_publishes_in_flight") == 1,
                "the publish to await its confirm",
            )
            ingress.signal(signal.SIGTERM)
            ingress.wait_for_log("stopping")
            proxy.thaw()
            assert ingress.popen.wait(30) == ExitCode.OK
        fake_slack.wait_for_ack(envelope_id, timeout=1)
    finally:
        proxy.close()
    [message] = vhost.drain(AUDIT_QUEUE)
    assert Envelope.decode(message).id == envelope_id


def metric(health_url: str, sample: str) -> float:
    """One sample of the ingress's /metrics, by its name and labels as Prometheus prints them."""
    metrics = http.get(f"{health_url}/metrics").body.decode()
    values = [line.rsplit(" ", 1)[1] for line in metrics.splitlines() if line.rsplit(" ", 1)[0] == sample]
    return float(values[0]) if values else 0.0


def test_a_connection_dropped_without_a_close_frame_is_replaced_at_once(
    vhost: VirtualHost, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    with running_socket_ingress(
        vhost.amqp_url, fake_slack.api_url, tmp_path / "ingress.log", SOCKET_MODE_CONNECTIONS="1"
    ) as (ingress, _):
        [link] = fake_slack.wait_for_links(1)
        ingress.wait_for_log("socket connected")
        fake_slack.drop(link)
        # Well before the client's own ping timeout (four intervals of 5 s) would notice.
        fake_slack.wait_for_links(1, newer_than=link, timeout=10)
        ingress.wait_for_log("socket lost")
