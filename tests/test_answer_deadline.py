"""A blocking call the broker does not answer ends at the bound, or at once when the caller gives up.

The broker here stops answering because a proxy in front of it stops carrying bytes once the
connection is open; a node left without its cluster's majority behaves the same for the calls
that reach its quorum queues. Against the pika internals the module rests on, the contract tests
at the end fail loudly when a new pika moves them.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterator

import pika
import pytest
from pika.connection import Connection

from slack_fanout.answer_deadline import NoAnswer, answered_within
from tests.support.broker import Broker, VirtualHost
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.broker


@pytest.fixture
def silent_broker(
    vhost: VirtualHost, broker: Broker, nodes: list[TcpProxy]
) -> Iterator[pika.BlockingConnection]:
    """A connection whose broker stops answering right after the connection opened, for 5 s: long
    enough for every bound here, short enough that a bound that never fires fails the test."""
    proxy = nodes[0]
    url = broker.amqp_url(vhost.name, port=proxy.port)
    connection = pika.BlockingConnection(pika.URLParameters(url))
    proxy.freeze()
    thaw = threading.Timer(5, proxy.thaw)
    thaw.start()
    yield connection
    thaw.cancel()
    proxy.thaw()
    if connection.is_open:
        connection.close()


def test_a_call_the_broker_does_not_answer_raises_no_answer_at_the_bound(
    silent_broker: pika.BlockingConnection,
) -> None:
    started = time.monotonic()
    with pytest.raises(NoAnswer, match=r"did not answer within 0\.5 s"), answered_within(silent_broker, 0.5):
        silent_broker.channel()
    assert 0.5 <= time.monotonic() - started < 3
    assert silent_broker.is_closed


def test_a_caller_that_gives_up_is_not_kept_waiting_until_the_bound(
    silent_broker: pika.BlockingConnection,
) -> None:
    started = time.monotonic()
    stop_at = started + 0.3

    def stop_requested() -> bool:
        return time.monotonic() >= stop_at

    with pytest.raises(NoAnswer, match="gave up"), answered_within(silent_broker, 60, stop_requested):
        silent_broker.channel()
    assert time.monotonic() - started < 3


def test_calls_answered_in_time_leave_the_connection_as_it_was(vhost: VirtualHost) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(vhost.amqp_url))
    try:
        with answered_within(connection, 0.5):
            channel = connection.channel()
            channel.queue_declare("", exclusive=True)
        connection.sleep(0.8)  # past the bound: nothing fires once the block is left
        assert channel.queue_declare("", exclusive=True).method.queue
    finally:
        connection.close()


def test_pika_drops_a_connection_with_a_given_error_as_its_heartbeat_checker_does() -> None:
    assert list(inspect.signature(Connection._terminate_stream).parameters) == ["self", "error"]
    checker = inspect.getsource(pika.heartbeat.HeartbeatChecker)
    assert "self._connection._terminate_stream(" in checker


def test_a_blocking_call_raises_the_error_its_connection_was_dropped_with() -> None:
    source = inspect.getsource(pika.BlockingConnection._flush_output)
    assert "self._impl.ioloop.process_timeouts()" in source  # timers run while a call waits
    assert "raise self._closed_result.value.error" in source
