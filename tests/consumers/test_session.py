"""How a settled message leaves the consumer (its answer and its behaviour record in one write), and
how the consumer lets go of its connection.

Drives ``consumers.session.Session`` in this process, on the connection the runtime opens, against a
real broker, and records what pika hands to the socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pika
import pytest

import consumers.session
from consumers import capture
from consumers.dispatch import Dispatcher, ReplyMode
from consumers.record_channel import ensure_behaviour_exchange
from consumers.records import BehaviourRecorder
from consumers.session import Session
from consumers.slack_actions import RecordingSlack
from slack_fanout import topology
from slack_fanout.answer_deadline import ANSWER_TIMEOUT_S
from slack_fanout.batching_connection import open_blocking
from slack_fanout.envelope import Envelope, utc_now
from testbed.envelopes import an_envelope
from testbed.waiting import eventually
from tests.support.broker import Broker, VirtualHost
from tests.support.logged import captured
from tests.support.tcp_proxy import TcpProxy
from tests.support.threads import on_a_thread

QUEUE = "session.inbox"
ANSWERS = "session.answers"
MESSAGES = 5


@pytest.fixture(autouse=True)
def primary_capture() -> Iterator[None]:
    capture.install(capture.CaptureConfig("primary", shadow=False))
    yield
    capture.uninstall()


def awaited(text: str) -> Envelope:
    """An envelope the gateway waits for an answer to, for a few seconds more."""
    return an_envelope(text).model_copy(update={"reply_by": utc_now() + timedelta(seconds=30)})


def test_each_answer_leaves_in_the_same_write_as_its_behaviour_record(
    vhost: VirtualHost, socket_writes: list[bytes]
) -> None:
    with vhost.channel() as channel:
        channel.queue_declare(QUEUE)
        channel.queue_declare(ANSWERS)
        for number in range(MESSAGES):
            properties = pika.BasicProperties(reply_to=ANSWERS, correlation_id=str(number))
            channel.basic_publish("", QUEUE, awaited(f"question {number}").encode(), properties)
    recorder = BehaviourRecorder("primary", "v1", shadow=False, settle_timeout_s=5)
    dispatcher = Dispatcher(
        "primary", lambda envelope, _context: {"text": f"answer to {envelope.payload['text']}"},
        RecordingSlack, replies=ReplyMode.SEND, recorder=recorder,
    )  # fmt: skip
    connection = open_blocking([pika.URLParameters(vhost.amqp_url)])
    ensure_behaviour_exchange(connection)
    session = Session(connection, dispatcher, "primary", prefetch=MESSAGES, concurrency=1,
                      retry_delays_ms=topology.RETRY_DELAYS_MS, behaviour_records=True)  # fmt: skip
    try:
        session.open_publishing_channels()
        consuming = connection.channel()
        consuming.basic_qos(prefetch_count=MESSAGES)
        consuming.basic_consume(QUEUE, session.on_message)
        with vhost.channel() as observer:

            def every_answer_sent() -> bool:
                connection.process_data_events(time_limit=0.05)
                return observer.queue_declare(ANSWERS, passive=True).method.message_count == MESSAGES

            eventually(every_answer_sent, "every message answered")
    finally:
        session.close()

    for number in range(MESSAGES):
        answer = f"answer to question {number}".encode()
        [write] = [data for data in socket_writes if answer in data]  # pika alone: the answer's frames, apart
        assert write.count(answer) == 2  # the answer, and the record of it


def test_a_node_that_stops_answering_before_the_close_does_not_hold_the_consumer_past_the_bound(
    vhost: VirtualHost, broker: Broker, nodes: list[TcpProxy], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    monkeypatch.setattr(consumers.session, "ANSWER_TIMEOUT_S", 1.0)
    connection = open_blocking([pika.URLParameters(broker.amqp_url(vhost.name, port=nodes[0].port))])
    dispatcher = Dispatcher("primary", lambda _envelope, _context: None, RecordingSlack)
    session = Session(connection, dispatcher, "primary", prefetch=1, concurrency=1,
                      retry_delays_ms=topology.RETRY_DELAYS_MS, behaviour_records=False)  # fmt: skip
    nodes[0].freeze()

    # Unbounded, pika would wait for the close's answer until its heartbeat check gave up, minutes later.
    on_a_thread(session.close).result(timeout=ANSWER_TIMEOUT_S / 2)

    assert connection.is_closed
    [dropped] = captured(caplog, "connection dropped on close")
    assert dropped.levelname == "WARNING"
