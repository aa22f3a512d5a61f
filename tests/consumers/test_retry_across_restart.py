"""A message waiting for its retry survives a broker restart: handled or dead-lettered, exactly once.

The consumer's handler fails (its downstream is down) while the messages cycle through the
retry queues; the broker's application is stopped and started while they wait there, with
their delays running out during the restart. Afterwards the downstream recovers, and every
message must have been handled once or be in the dead-letter queue once, and nowhere else.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pika
from pika.adapters.blocking_connection import BlockingChannel

from slack_fanout import topology
from slack_fanout.envelope import Envelope
from testbed.envelopes import an_envelope
from testbed.private_broker import PrivateBroker
from testbed.processes import python_module, running

NAME = "audit"
MESSAGES = 300
DELAYS_MS = (200, 1000, 2000, 5000, 10000)
"""An operator's short schedule: a sub-second first retry, then a few seconds."""


@contextmanager
def channel_on(broker: PrivateBroker) -> Iterator[BlockingChannel]:
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url)) as connection:
        yield connection.channel()


def waiting_for_retry(broker: PrivateBroker) -> int:
    counts = broker.messages()
    return sum(counts.get(topology.retry_queue(NAME, delay), 0) for delay in set(DELAYS_MS))


def waiting(broker: PrivateBroker) -> int:
    """Messages still to be handled: in the consumer's queue (also in its hands) or waiting to retry."""
    return waiting_for_retry(broker) + broker.messages().get(topology.consumer_queue(NAME), 0)


def all_settled(broker: PrivateBroker, tmp_path: Path) -> bool:
    """As many messages handled or dead-lettered as were published, and none left waiting."""
    dead = broker.messages().get(topology.dead_letter_queue(NAME), 0)
    return len(handled(tmp_path)) + dead >= MESSAGES and not waiting(broker)


def publish_all(broker: PrivateBroker, texts: list[str]) -> None:
    with channel_on(broker) as channel:
        channel.confirm_delivery()
        for text in texts:
            channel.basic_publish(topology.INBOUND_EXCHANGE, "", an_envelope(text).encode(),
                                  pika.BasicProperties(delivery_mode=2), mandatory=True)  # fmt: skip


def dead_lettered(broker: PrivateBroker) -> list[str]:
    texts = []
    with channel_on(broker) as channel:
        while (message := channel.basic_get(topology.dead_letter_queue(NAME), auto_ack=True))[0]:
            texts.append(Envelope.decode(message[2]).payload["text"])
    return texts


def handled(tmp_path: Path) -> list[str]:
    record = tmp_path / "handled.txt"
    return record.read_text().splitlines() if record.exists() else []


def test_messages_waiting_for_their_retry_across_a_broker_restart_are_handled_exactly_once(
    private_broker: PrivateBroker, tmp_path: Path
) -> None:
    downstream_down = tmp_path / "downstream-down"
    downstream_down.touch()
    env = {
        "AMQP_URL": private_broker.amqp_url,
        "TEST_RECORD_FILE": str(tmp_path / "handled.txt"),
        "TEST_FAIL_WHILE": str(downstream_down),
        "CONSUMER_RETRY_DELAYS_MS": json.dumps(DELAYS_MS),
        "CONSUMER_LOG_HANDLED": "false",
    }
    argv = python_module("consumers", "run", NAME, "--handler", "testbed.handlers:record")
    with running(argv, env, tmp_path / "consumer.log") as consumer:
        consumer.wait_for_log("consuming")
        texts = [f"m{number}" for number in range(MESSAGES)]
        publish_all(private_broker, texts)
        consumer.wait_for(lambda: waiting_for_retry(private_broker) > MESSAGES // 2, "copies to retry")
        private_broker.stop_app()  # their delays run out while the broker is away
        private_broker.start_app()
        downstream_down.unlink()
        consumer.wait_for(lambda: all_settled(private_broker, tmp_path), "all handled or dead", timeout=60)
        assert consumer.stop() == 0
    outcomes = collections.Counter(handled(tmp_path) + dead_lettered(private_broker))
    lost = sorted(set(texts) - outcomes.keys())
    twice = sorted(text for text, count in outcomes.items() if count > 1)
    assert (lost, twice) == ([], []), f"{len(lost)} lost, {len(twice)} handled or dead-lettered twice"
