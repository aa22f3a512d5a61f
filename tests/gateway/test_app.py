"""Specification of the gateway app against a real broker: a 200 means the message is in every queue."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import pika
import pytest
from flask import Flask

from gateway.app import create_app
from gateway.publisher import EXCHANGE_MISSING
from gateway.settings import GatewaySettings
from slack_fanout.envelope import Envelope
from testbed import slack
from testbed.processes import free_port
from testbed.waiting import eventually
from tests.support.broker import VirtualHost
from tests.support.gateway import gateway_app, post
from tests.support.logged import captured, fields

QUEUES = ("test.one", "test.two")


@pytest.fixture
def app(vhost: VirtualHost) -> Iterator[Flask]:
    with gateway_app(vhost.amqp_url, max_body_bytes=64 * 1024) as app:
        yield app


@pytest.fixture
def bound_queues(vhost: VirtualHost) -> tuple[str, ...]:
    return vhost.bind_to_inbound(*QUEUES)


def test_an_accepted_request_is_answered_200_only_once_it_is_in_every_bound_queue(
    app: Flask, vhost: VirtualHost, bound_queues: tuple[str, ...]
) -> None:
    request = slack.signed(slack.slash_command(), slack.FORM)
    response = post(app.test_client(), request)
    assert (response.status, response.body) == (200, b"")
    copies = [vhost.drain(queue) for queue in bound_queues]
    assert copies[0] == copies[1]
    assert len(copies[0]) == 1
    assert Envelope.decode(copies[0][0]).body.encode() == request.body


def test_the_message_is_persistent_and_labelled_for_the_management_ui(
    app: Flask, vhost: VirtualHost, bound_queues: tuple[str, ...]
) -> None:
    post(app.test_client(), slack.signed(slack.event_callback(), slack.JSON))
    with vhost.channel() as channel:
        _method, properties, body = channel.basic_get(bound_queues[0], auto_ack=True)
    envelope = Envelope.decode(body)
    assert properties.delivery_mode == pika.DeliveryMode.Persistent.value
    assert properties.message_id == envelope.id
    assert properties.content_type == "application/json"
    assert properties.type == "event_callback"
    assert body.startswith(b"{\n")  # indented: readable in "Get messages"


def stale(request: slack.SlackRequest) -> slack.SlackRequest:
    old = slack.sign(request.body, timestamp=int(time.time()) - 600)
    return slack.SlackRequest(request.body, {**request.headers, **old})


def tampered(request: slack.SlackRequest) -> slack.SlackRequest:
    return slack.SlackRequest(request.body.replace(b"hello", b"HELLO"), request.headers)


def resigned_with(secret: str, request: slack.SlackRequest) -> slack.SlackRequest:
    return slack.SlackRequest(request.body, {**request.headers, **slack.sign(request.body, secret)})


def slash() -> slack.SlackRequest:
    return slack.signed(slack.slash_command(text="hello"), slack.FORM)


# Each request is made as its test runs: one signed at collection would be stale by then in a long run.
REFUSALS: dict[str, tuple[Callable[[], slack.SlackRequest], int, str]] = {
    "bad-signature": (lambda: resigned_with("not-the-secret", slash()), 401, "invalid_signature"),
    "stale-timestamp": (lambda: stale(slash()), 401, "stale_timestamp"),
    "tampered-body": (lambda: tampered(slash()), 401, "invalid_signature"),
    "wrong-token": (
        lambda: slack.SlackRequest(slack.outgoing_webhook().replace(slack.VERIFICATION_TOKEN.encode(), b"x"),
                                   {"Content-Type": slack.FORM}),
        401, "invalid_token",
    ),
    "no-credentials": (
        lambda: slack.SlackRequest(slack.form({"text": "hi"}), {"Content-Type": slack.FORM}),
        401, "invalid_token",
    ),
    "oversized": (lambda: slack.signed(slack.slash_command(text="x" * 70_000), slack.FORM), 413,
                  "payload_too_large"),
    "not-utf8": (lambda: slack.signed(b"command=%2Fa&text=caf\xe9", slack.FORM), 400, "body_not_utf8"),
    "malformed-json": (lambda: slack.signed(b'{"type": "event_callback"', slack.JSON), 400, "malformed_body"),
    "unknown-payload": (lambda: slack.signed(b'{"type": "mystery"}', slack.JSON), 400, "unknown_payload"),
    "wrong-content-type": (lambda: slack.signed(b"hello", "text/plain"), 415, "unsupported_media_type"),
}  # fmt: skip


@pytest.mark.parametrize(("make_request", "status", "error"), REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_request_gets_a_clear_4xx_and_publishes_nothing(
    app: Flask,
    vhost: VirtualHost,
    bound_queues: tuple[str, ...],
    make_request: Callable[[], slack.SlackRequest],
    status: int,
    error: str,
) -> None:
    response = post(app.test_client(), make_request())
    assert response.status == status
    assert response.json is not None and response.json["error"] == error
    assert response.json["message"]
    assert [vhost.queue_depth(queue) for queue in bound_queues] == [0, 0]


def test_url_verification_is_answered_with_the_challenge_and_publishes_nothing(
    app: Flask, vhost: VirtualHost, bound_queues: tuple[str, ...]
) -> None:
    response = post(app.test_client(), slack.signed(slack.url_verification("c-42"), slack.JSON))
    assert response.json == {"challenge": "c-42"}
    assert [vhost.queue_depth(queue) for queue in bound_queues] == [0, 0]


def test_the_root_path_is_the_same_endpoint_for_webhooks_that_pointed_at_a_mirror(
    app: Flask, vhost: VirtualHost, bound_queues: tuple[str, ...]
) -> None:
    request = slack.SlackRequest(slack.outgoing_webhook(), {"Content-Type": slack.FORM}, path="/")
    assert post(app.test_client(), request).status == 200
    assert Envelope.decode(vhost.drain(bound_queues[0])[0]).path == "/"


def test_with_no_queue_bound_the_gateway_answers_503_rather_than_promise_delivery_to_nobody(
    app: Flask, vhost: VirtualHost
) -> None:
    vhost.bind_to_inbound()  # the exchange, and no queue
    response = post(app.test_client(), slack.signed(slack.slash_command(), slack.FORM))
    assert response.status == 503
    assert response.json is not None and response.json["error"] == "unroutable"
    assert response.headers["Retry-After"] == "1"


def test_with_the_broker_unreachable_the_gateway_answers_503_fast_and_is_not_ready() -> None:
    with gateway_app(f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F") as app:
        client = app.test_client()
        response = post(client, slack.signed(slack.slash_command(), slack.FORM))
        assert response.elapsed < 3
        assert response.status == 503
        assert response.json is not None and response.json["error"] == "broker_unreachable"
        assert "Retry-After" in response.headers
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200


def test_ready_when_the_broker_is_usable(app: Flask, vhost: VirtualHost) -> None:
    vhost.bind_to_inbound()
    assert app.test_client().get("/readyz").status_code == 200


def test_without_the_exchange_it_is_not_ready_and_names_the_command_that_creates_it(
    app: Flask, vhost: VirtualHost, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway's user may publish to the exchange, not declare it (docs/operations.md)."""
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    eventually(
        lambda: any(getattr(record, "reason", None) == EXCHANGE_MISSING for record in caplog.records),
        "the log line naming the command",
        5,
    )
    assert post(client).status == 503
    vhost.bind_to_inbound("test.audit")
    eventually(lambda: client.get("/readyz").status_code == 200, "ready once the exchange exists", 15)
    assert post(client).status == 200


def test_a_connection_the_broker_closes_is_replaced_within_a_second(
    app: Flask, vhost: VirtualHost, bound_queues: tuple[str, ...]
) -> None:
    client = app.test_client()
    assert post(client, slack.signed(slack.slash_command(), slack.FORM)).status == 200
    vhost.close_client_connections()
    statuses: list[int] = []

    def answered_200() -> bool:
        statuses.append(post(client, slack.signed(slack.slash_command(), slack.FORM)).status)
        return statuses[-1] == 200

    eventually(answered_200, "a 200 on a new connection", 1, interval=0.01)
    assert set(statuses[:-1]) <= {503}
    assert vhost.queue_depth(bound_queues[0]) == 2


def test_secrets_and_bodies_never_reach_the_logs_below_debug(
    app: Flask, bound_queues: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = app.test_client()
    accepted = slack.signed(slack.slash_command(text="private words"), slack.FORM)
    post(client, accepted)
    post(client, resigned_with("wrong", accepted))
    post(client, slack.SlackRequest(slack.outgoing_webhook(), {"Content-Type": slack.FORM}))
    logged = caplog.text + "".join(str(vars(record)) for record in caplog.records)
    for secret in (slack.SIGNING_SECRET, slack.VERIFICATION_TOKEN, accepted.headers["X-Slack-Signature"],
                   "private words", "private+words"):  # fmt: skip
        assert secret not in logged


@pytest.mark.parametrize(("trusted_proxies", "logged_address"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_forwarded_headers_are_believed_only_from_configured_proxies(
    vhost: VirtualHost,
    bound_queues: tuple[str, ...],
    caplog: pytest.LogCaptureFixture,
    trusted_proxies: int,
    logged_address: str,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway")
    request = slack.signed(slack.slash_command(), slack.FORM, **{"X-Forwarded-For": "203.0.113.9"})
    with gateway_app(vhost.amqp_url, trusted_proxies=trusted_proxies) as app:
        answer = post(app.test_client(), request)
        assert answer.status == 200
    [published] = captured(caplog, "published")
    assert fields(published)["remote_addr"] == logged_address


class _PublisherWithABug:
    """A publisher that fails as no ``PublishFailed`` does: a bug, not a refusal."""

    def publish(self, envelope: Envelope) -> None:
        raise ValueError("a bug")

    def request_reply(self, envelope: Envelope, reply_deadline: float) -> None:
        raise ValueError("a bug")

    def ready(self) -> bool:
        return True

    def start(self) -> None:
        pass

    def close(self, timeout: float = 0) -> None:
        pass


def test_a_bug_is_answered_500_in_the_same_shape_with_its_traceback_logged_and_the_body_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = GatewaySettings(amqp_url="amqp://unused", slack_signing_secret=slack.SIGNING_SECRET)
    client = create_app(settings, publisher=_PublisherWithABug()).test_client()
    request = slack.signed(slack.slash_command(text="private words"), slack.FORM)
    response = post(client, request)
    assert response.status == 500
    assert response.json == {"error": "internal_error", "message": "unexpected error; see the gateway's log"}
    [logged] = captured(caplog, "unexpected error")
    assert logged.exc_info is not None and "a bug" in str(logged.exc_info[1])
    assert "private words" not in caplog.text


def test_only_posts_reach_slacks_endpoint_other_methods_are_the_operational_endpoints(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/slack/events").status_code == 404
    assert client.put("/healthz").status_code == 405
