"""Fixtures shared by every test: a real RabbitMQ and a fresh vhost per test.

The broker is the one named by ``AMQP_URL`` (management API at ``RABBITMQ_MANAGEMENT_URL``,
default port 15672 on the same host); without it, a RabbitMQ container when Docker runs.
With neither, broker tests are skipped on a laptop and fail in CI.
"""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
import uuid
from collections.abc import Iterator

import pika
import pytest

from slack_fanout.logs import JsonFormatter
from testbed.management import BrokerAdmin
from tests.support.broker import Broker, VirtualHost
from tests.support.environment import SUITE_INPUTS, settings_variables
from tests.support.recorder import SlackRecorder
from tests.support.tcp_proxy import TcpProxy

pytest_plugins = ["testbed.private_broker"]  # the private_broker fixture


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    url = os.environ.get("AMQP_URL")
    if url:
        yield _broker_from_url(url, os.environ.get("RABBITMQ_MANAGEMENT_URL"))
        return
    if _docker_available():
        yield from _broker_in_container()
        return
    message = "no RabbitMQ: set AMQP_URL, or run Docker for testcontainers"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def vhost(broker: Broker, request: pytest.FixtureRequest) -> Iterator[VirtualHost]:
    """A vhost of the test's own, deleted afterwards with everything declared in it."""
    test_name = re.sub(r"[^a-zA-Z0-9_-]", "-", request.node.name)[:48]
    name = f"test-{test_name}-{uuid.uuid4().hex[:8]}"
    broker.management.create_vhost(name)
    try:
        yield broker.virtual_host(name, connection_name=request.node.nodeid)
    finally:
        broker.management.delete_vhost(name)


@pytest.fixture(autouse=True)
def no_log_handler_outlives_its_test() -> Iterator[None]:
    """A command run in-process configures logging as its process would (``slack_fanout.logs``): a
    handler writing to the ``sys.stderr`` of that moment, which pytest closes once the test ends.
    Left on the root logger, it would break the next log line of any later test's threads."""
    yield
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if isinstance(handler.formatter, JsonFormatter):
            root.removeHandler(handler)


@pytest.fixture
def socket_writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every piece of bytes pika hands to a socket from now on, in this process, one item per write."""
    written: list[bytes] = []
    plain_emit = pika.SelectConnection._adapter_emit_data

    def recording_emit(connection: pika.SelectConnection, data: bytes) -> None:
        written.append(data)
        plain_emit(connection, data)

    monkeypatch.setattr(pika.SelectConnection, "_adapter_emit_data", recording_emit)
    return written


@pytest.fixture
def recorder() -> Iterator[SlackRecorder]:
    """A fake Slack on loopback: Web API and response_url posts, recorded (tests/support/recorder.py)."""
    recorder = SlackRecorder()
    yield recorder
    recorder.close()


@pytest.fixture
def nodes(broker: Broker) -> Iterator[list[TcpProxy]]:
    """Two addresses of the one broker, as a cluster's nodes would be: each a proxy a test can cut."""
    proxies = [TcpProxy(broker.host, broker.port) for _ in range(2)]
    yield proxies
    for proxy in proxies:
        proxy.close()


@pytest.fixture(autouse=True)
def settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the developer's shell reaches a test or the processes it starts; the broker
    the suite was pointed at does (``tests.support.environment``)."""
    for name in settings_variables():
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def default_broker_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests of the defaults: not even the suite's broker URL set."""
    for name in SUITE_INPUTS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


@pytest.fixture(autouse=True)
def consumer_state(
    settings_environment: None, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Consumers started by a test keep their dedupe ledger in a directory of the test's own."""
    monkeypatch.setenv("CONSUMER_STATE_DIR", str(tmp_path_factory.mktemp("consumer-state")))


def _broker_from_url(url: str, management_url: str | None) -> Broker:
    parts = urllib.parse.urlsplit(url)
    username = urllib.parse.unquote(parts.username or "guest")
    password = urllib.parse.unquote(parts.password or "guest")
    management_url = management_url or f"http://{parts.hostname}:15672"
    return Broker(
        host=parts.hostname or "localhost",
        port=parts.port or 5672,
        username=username,
        password=password,
        management=BrokerAdmin(management_url, username, password),
    )


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


def _broker_in_container() -> Iterator[Broker]:
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.13-management").with_exposed_ports(15672) as container:
        host = container.get_container_host_ip()
        yield Broker(
            host=host,
            port=int(container.get_exposed_port(5672)),
            username=container.username,
            password=container.password,
            management=BrokerAdmin(
                f"http://{host}:{container.get_exposed_port(15672)}",
                container.username,
                container.password,
            ),
        )
