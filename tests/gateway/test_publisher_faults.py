"""How the gateway answers a misbehaving broker: within Slack's 3 s, and never a 200 it cannot keep."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pika
import pytest
from flask import Flask
from prometheus_client import REGISTRY

from testbed.private_broker import PrivateBroker
from testbed.waiting import eventually
from tests.support.broker import Broker, VirtualHost, bind_to_inbound
from tests.support.gateway import Answer, gateway_app, post
from tests.support.tcp_proxy import TcpProxy

CONFIRM_TIMEOUT = 0.5


@pytest.fixture
def proxy(broker: Broker) -> Iterator[TcpProxy]:
    proxy = TcpProxy(broker.host, broker.port)
    yield proxy
    proxy.close()


def through_proxy(
    broker: Broker, vhost: VirtualHost, proxy: TcpProxy, **settings: object
) -> AbstractContextManager[Flask]:
    amqp_url = broker.amqp_url(vhost.name, port=proxy.port)
    return gateway_app(amqp_url, publish_timeout_seconds=CONFIRM_TIMEOUT, **settings)


@pytest.fixture
def app(broker: Broker, vhost: VirtualHost, proxy: TcpProxy) -> Iterator[Flask]:
    with through_proxy(broker, vhost, proxy) as app:
        yield app


def test_a_broker_that_stops_answering_gets_a_503_at_the_confirm_timeout(
    app: Flask, vhost: VirtualHost, proxy: TcpProxy
) -> None:
    vhost.bind_to_inbound("test.q")
    client = app.test_client()
    assert post(client).status == 200
    proxy.freeze()
    answer = post(client)
    assert (answer.status, answer.error) == (503, "confirm_timeout")
    assert CONFIRM_TIMEOUT <= answer.elapsed < CONFIRM_TIMEOUT + 0.5
    proxy.thaw()
    assert post(client).status == 200


def test_a_lost_connection_gives_fast_503s_then_200s_once_reconnected(
    app: Flask, vhost: VirtualHost, proxy: TcpProxy
) -> None:
    vhost.bind_to_inbound("test.q")
    client = app.test_client()
    assert post(client).status == 200
    proxy.cut()
    outcomes: list[Answer] = []

    def answered_200() -> bool:
        outcomes.append(post(client))
        return outcomes[-1].status == 200

    eventually(answered_200, "a 200 through a new connection", 10, interval=0.02)
    for answer in outcomes[:-1]:
        assert answer.status == 503 and answer.error in ("broker_unreachable", "confirm_timeout"), outcomes
        assert answer.elapsed < CONFIRM_TIMEOUT + 0.5
    assert vhost.queue_depth("test.q") == 2


def test_a_message_the_broker_nacks_gets_a_503(app: Flask, vhost: VirtualHost) -> None:
    vhost.bind_to_inbound("test.full", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    client = app.test_client()
    assert post(client).status == 200
    answer = post(client)
    assert (answer.status, answer.error) == (503, "publish_nacked")
    assert vhost.queue_depth("test.full") == 1


def publishes_in_flight() -> float | None:
    """The gateway's gauge of publishes awaiting their confirm (in-process: this process's registry)."""
    return REGISTRY.get_sample_value("slack_fanout_gateway_publishes_in_flight")


def test_past_its_in_flight_limit_a_worker_sheds_load_at_once(
    broker: Broker, vhost: VirtualHost, proxy: TcpProxy
) -> None:
    vhost.bind_to_inbound("test.q")
    with through_proxy(broker, vhost, proxy, max_in_flight=1) as app:
        client = app.test_client()
        try:
            assert post(client).status == 200
            proxy.freeze()
            waiting = threading.Thread(target=post, args=(app.test_client(),))
            waiting.start()
            eventually(lambda: publishes_in_flight() == 1, "the first request's publish to await its confirm")
            answer = post(client)
            assert (answer.status, answer.error) == (503, "overloaded")
            assert answer.elapsed < 0.1
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
        assert post(client).status == 200
        private_broker.raise_memory_alarm()
        during_alarm = [post(client) for _ in range(5)]
        assert all(answer.status == 503 for answer in during_alarm), during_alarm
        assert all(answer.elapsed < CONFIRM_TIMEOUT + 0.5 for answer in during_alarm), during_alarm
        assert "broker_blocked" in {answer.error for answer in during_alarm}, during_alarm
        assert client.get("/readyz").status_code == 503
        private_broker.clear_memory_alarm()
        eventually(lambda: post(client).status == 200, "a 200 once the alarm cleared", 10, interval=0.1)
        assert client.get("/readyz").status_code == 200


def test_across_a_broker_restart_every_200_survives_and_the_gateway_reconnects(
    private_broker: PrivateBroker,
) -> None:
    with app_on_private_broker(private_broker) as app:
        client = app.test_client()
        accepted = sum(post(client).status == 200 for _ in range(20))
        private_broker.stop_app()
        while_down = [post(client) for _ in range(3)]
        assert all(answer.status == 503 and answer.elapsed < 1 for answer in while_down), while_down
        private_broker.start_app()
        eventually(lambda: post(client).status == 200, "a 200 after the broker's return", 15, interval=0.1)
        accepted += 1
    with pika.BlockingConnection(pika.URLParameters(private_broker.amqp_url)) as connection:
        assert connection.channel().queue_declare("test.q", passive=True).method.message_count == accepted
