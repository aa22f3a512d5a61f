"""The floor under any consumer runtime: a raw pika loop doing the runtime's own work per message.

    python -m bench.consumer_floor NAME PREFETCH      (run by bench.consumer_bench, as the runtime is)

On its one thread, for each message: the product's dispatcher with the no-op handler (decode,
dedupe ledger, the "handled" log line, the behaviour record), the record published, confirmed
(``consumers.record_channel``), the records of each batch of deliveries written in one piece,
and acks and ledger commits in batches as the runtime makes them (``consumers.acks``). Settings
come from the environment, as the runtime's do (``CONSUMER_LOG_HANDLED``,
``CONSUMER_BEHAVIOUR_RECORDS``, ``CONSUMER_STATE_DIR``).

What it lacks is what the runtime adds for a real handler: a worker thread (so a handler slower
than the heartbeat keeps its connection), waiting for the request to settle, retries and
replies. The gap from raw pika to this loop is the cost of the work the product promises; the
gap from this loop to the runtime is the cost of its design.
"""

from __future__ import annotations

import sys

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from consumers.acks import AckWindow
from consumers.dedupe import Ledger
from consumers.dispatch import Delivery, Dispatcher, ReplyMode
from consumers.record_channel import RecordChannel, ensure_behaviour_exchange
from consumers.records import BehaviourRecorder
from consumers.settings import ConsumerSettings
from consumers.slack_actions import RecordingSlack
from slack_fanout import topology
from slack_fanout.batching_connection import batching, open_blocking
from slack_fanout.logs import configure_logging
from slack_fanout.settings import load_settings, secret_values


def noop(envelope: object, context: object) -> None:
    """The handler: nothing."""


def consume(name: str, prefetch: int) -> None:
    settings = load_settings(ConsumerSettings)
    configure_logging(settings.log_level)
    recorder = None
    if settings.consumer_behaviour_records:
        recorder = BehaviourRecorder(name, settings.consumer_code_version, False, 1.0)
    ledger = Ledger(settings.consumer_state_dir / f"{name}.sqlite3")
    dispatcher = Dispatcher(
        name, noop, RecordingSlack, ledger, ReplyMode.DISCARD, settings.consumer_log_handled, recorder
    )
    connection = open_blocking([pika.URLParameters(secret_values(settings.amqp_url)[0])])
    records = None
    if recorder is not None:
        ensure_behaviour_exchange(connection)
        records = RecordChannel(connection, name)
    acks = AckWindow(prefetch // 2)

    def on_message(_channel: BlockingChannel, method: Basic.Deliver, _: BasicProperties, body: bytes) -> None:
        result = dispatcher.process(Delivery(body, 0, 0, None, method.redelivered))
        sequence = None
        if records is not None and result.record is not None and result.record.settle() is not None:
            sequence = records.publish(result.record.body or b"")
        acks.delivered(method.delivery_tag)
        acks.settled(method.delivery_tag, sequence)

    channel = connection.channel()
    channel.basic_qos(prefetch_count=prefetch)
    channel.basic_consume(topology.consumer_queue(name), on_message)
    print('{"message": "consuming"}', file=sys.stderr, flush=True)
    while True:
        with batching(connection).batched():
            connection.process_data_events(time_limit=acks.wait_time())
        if acks.is_due():
            last = acks.take(lambda sequence: records is None or records.is_confirmed(sequence))
            if last is not None:
                dispatcher.commit()
                channel.basic_ack(last, multiple=True)


if __name__ == "__main__":
    consume(sys.argv[1], int(sys.argv[2]))
