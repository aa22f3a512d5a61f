"""How the gateway answers a misbehaving broker: within Slack's 3 s, and never a 200 it cannot keep."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pika
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support import slack
from tests.support.broker import Broker, VirtualHost, bind_to_inbound
from tests.support.gateway import gateway_app
from tests.support.private_broker import PrivateBroker
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import eventually

CONFIRM_TIMEOUT = 0.5


@pytest.fixture
def proxy(broker: Broker) -> Iterator[TcpProxy]:
    proxy = TcpProxy(broker.host, broker.port)
    yield proxy
    proxy.close()


def through_proxy(
    broker: Broker, vhost: VirtualHost, proxy: TcpProxy, **settings: object
) -> AbstractContextManager[Flask]:
    amqp_url = dataclasses.replace(broker, port=proxy.port).amqp_url(vhost.name)
    return gateway_app(amqp_url, publish_timeout_seconds=CONFIRM_TIMEOUT, **settings)


@pytest.fixture
def app(broker: Broker, vhost: VirtualHost, proxy: TcpProxy) -> Iterator[Flask]:
    with through_proxy(broker, vhost, proxy) as app:
        yield app


def post_slash_command(client: FlaskClient) -> tuple[int, str, float]:
    request = slack.signed(slack.slash_command(), slack.FORM)
    started = time.monotonic()
    response = client.post("/slack/events", data=request.body, headers=request.headers)
    error = response.json["error"] if response.json else ""
    return response.status_code, error, time.monotonic() - started


def test_a_broker_that_stops_answering_gets_a_503_at_the_confirm_timeout(
    app: Flask, vhost: VirtualHost, proxy: TcpProxy
) -> None:
    vhost.bind_to_inbound("test.q")
    client = app.test_client()
    assert post_slash_command(client)[0] == 200
    proxy.freeze()
    status, error, took = post_slash_command(client)
    assert (status, error) == (503, "confirm_timeout")
    assert CONFIRM_TIMEOUT <= took < CONFIRM_TIMEOUT + 0.5
    proxy.thaw()
    assert post_slash_command(client)[0] == 200


def test_a_lost_connection_gives_fast_503s_then_200s_once_reconnected(
    app: Flask, vhost: VirtualHost, proxy: TcpProxy
) -> None:
    vhost.bind_to_inbound("test.q")
    client = app.test_client()
    assert post_slash_command(client)[0] == 200
    proxy.cut()
    outcomes: list[tuple[int, str | None, float]] = []

    def answered_200() -> bool:
        outcomes.append(post_slash_command(client))
        return outcomes[-1][0] == 200

    eventually(answered_200, "a 200 through a new connection", 10, interval=0.02)
    for status, error, took in outcomes[:-1]:
        assert status == 503 and error in ("broker_unreachable", "confirm_timeout"), outcomes
        assert took < CONFIRM_TIMEOUT + 0.5
    assert vhost.queue_depth("test.q") == 2


def test_a_message_the_broker_nacks_gets_a_503(app: Flask, vhost: VirtualHost) -> None:
    vhost.bind_to_inbound("test.full", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    client = app.test_client()
    assert post_slash_command(client)[0] == 200
    assert post_slash_command(client)[:2] == (503, "publish_nacked")
    assert vhost.queue_depth("test.full") == 1


def test_past_its_in_flight_limit_a_worker_sheds_load_at_once(
    broker: Broker, vhost: VirtualHost, proxy: TcpProxy
) -> None:
    vhost.bind_to_inbound("test.q")
    with through_proxy(broker, vhost, proxy, max_in_flight=1) as app:
        client = app.test_client()
        try:
            assert post_slash_command(client)[0] == 200
            proxy.freeze()
            waiting = threading.Thread(target=post_slash_command, args=(app.test_client(),))
            waiting.start()
            time.sleep(0.1)
            status, error, took = post_slash_command(client)
            assert (status, error) == (503, "overloaded")
            assert took < 0.1
            waiting.join()
        finally:
            proxy.thaw()


def app_on_private_broker(private_broker: PrivateBroker) -> AbstractContextManager[Flask]:
    """The gateway app on a node of the test's own, with a durable quorum queue bound to its exchange."""
    with pika.BlockingConnection(pika.URLParameters(private_broker.amqp_url)) as connection:
        bind_to_inbound(connection.channel(), "test.q", arguments={"x-queue-type": "quorum"})
    return gateway_app(private_broker.amqp_url, publish_timeout_seconds=CONFIRM_TIMEOUT)


def test_a_broker_alarm_gets_fast_503s_instead_of_hangs_until_it_clears(
    private_broker: PrivateBroker,
) -> None:
    with app_on_private_broker(private_broker) as app:
        client = app.test_client()
        assert post_slash_command(client)[0] == 200
        private_broker.raise_memory_alarm()
        during_alarm = [post_slash_command(client) for _ in range(5)]
        assert all(status == 503 for status, _, _ in during_alarm), during_alarm
        assert all(took < CONFIRM_TIMEOUT + 0.5 for _, _, took in during_alarm), during_alarm
        assert "broker_blocked" in {error for _, error, _ in during_alarm}, during_alarm
        assert client.get("/readyz").status_code == 503
        private_broker.clear_memory_alarm()
        eventually(
            lambda: post_slash_command(client)[0] == 200, "a 200 once the alarm cleared", 10, interval=0.1
        )
        assert client.get("/readyz").status_code == 200


def test_across_a_broker_restart_every_200_survives_and_the_gateway_reconnects(
    private_broker: PrivateBroker,
) -> None:
    with app_on_private_broker(private_broker) as app:
        client = app.test_client()
        accepted = sum(post_slash_command(client)[0] == 200 for _ in range(20))
        private_broker.stop_app()
        while_down = [post_slash_command(client) for _ in range(3)]
        assert all(status == 503 and took < 1 for status, _, took in while_down), while_down
        private_broker.start_app()
        eventually(
            lambda: post_slash_command(client)[0] == 200, "a 200 after the broker's return", 15, interval=0.1
        )
        accepted += 1
    with pika.BlockingConnection(pika.URLParameters(private_broker.amqp_url)) as connection:
        assert connection.channel().queue_declare("test.q", passive=True).method.message_count == accepted
