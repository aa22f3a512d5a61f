"""How a settled message leaves the consumer: its answer and its behaviour record in one write.

Drives ``consumers.session.Session`` in this process, on the connection the runtime opens, against a
real broker, and records what pika hands to the socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pika
import pytest

from consumers import capture
from consumers.dispatch import Dispatcher, ReplyMode
from consumers.record_channel import ensure_behaviour_exchange
from consumers.records import BehaviourRecorder
from consumers.session import Session
from consumers.slack_actions import RecordingSlack
from slack_fanout import topology
from slack_fanout.batching_connection import open_blocking
from slack_fanout.envelope import Envelope, utc_now
from testbed.envelopes import an_envelope
from testbed.waiting import eventually
from tests.support.broker import VirtualHost

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
