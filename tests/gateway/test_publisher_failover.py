"""With several broker nodes in AMQP_URL, the gateway fails over to the next, and a request never
waits past the confirm timeout: while no node accepts, Slack gets a prompt 503 with Retry-After.

Each "node" is a TCP proxy to the test broker, so a node can die (its port closes), hang
(accept connections but carry no bytes) or come back without touching the broker itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from testbed.waiting import eventually
from tests.gateway.test_publisher_faults import CONFIRM_TIMEOUT
from tests.support.broker import Broker, VirtualHost
from tests.support.gateway import Answer, gateway_app, post
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def app(broker: Broker, vhost: VirtualHost, nodes: list[TcpProxy]) -> Iterator[Flask]:
    urls = ",".join(broker.amqp_url(vhost.name, port=node.port) for node in nodes)
    vhost.bind_to_inbound("test.q")
    with gateway_app(urls, publish_timeout_seconds=CONFIRM_TIMEOUT) as app:
        yield app


def until_200(client: FlaskClient, timeout: float = 15) -> list[Answer]:
    """Slash commands, one after another, until one is answered 200 (failing past ``timeout``)."""
    outcomes: list[Answer] = []

    def answered_200() -> bool:
        outcomes.append(post(client))
        return outcomes[-1].status == 200

    eventually(answered_200, "a 200 through another node", timeout, interval=0)
    return outcomes


def assert_prompt_503s(outcomes: list[Answer]) -> None:
    for answer in outcomes:
        assert (answer.status, answer.headers.get("Retry-After")) == (503, "1"), outcomes
        assert answer.elapsed < CONFIRM_TIMEOUT + 0.5, outcomes


def test_when_its_node_dies_the_gateway_publishes_through_the_next(
    app: Flask, vhost: VirtualHost, nodes: list[TcpProxy]
) -> None:
    client = app.test_client()
    assert post(client).status == 200
    nodes[0].close()
    outcomes = until_200(client)
    assert outcomes[-1].status == 200, outcomes
    assert_prompt_503s(outcomes[:-1])
    assert vhost.queue_depth("test.q") == 2


def test_a_first_node_that_accepts_but_never_answers_is_passed_over(
    app: Flask, vhost: VirtualHost, nodes: list[TcpProxy]
) -> None:
    nodes[0].freeze()  # before the gateway's first connection
    outcomes = until_200(app.test_client())
    assert outcomes[-1].status == 200, outcomes
    assert_prompt_503s(outcomes[:-1])


def test_while_no_node_accepts_every_request_gets_a_prompt_503_until_one_is_back(
    app: Flask, nodes: list[TcpProxy]
) -> None:
    client = app.test_client()
    assert post(client).status == 200
    for node in nodes:
        node.freeze()
        node.cut()
    give_up = time.monotonic() + 3 * CONFIRM_TIMEOUT
    outcomes = []
    while time.monotonic() < give_up:
        outcomes.append(post(client))
    assert_prompt_503s(outcomes)
    nodes[1].thaw()
    assert until_200(client)[-1].status == 200
