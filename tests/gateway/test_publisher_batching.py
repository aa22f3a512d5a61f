"""A batch of publishes leaves the gateway as one write: what keeps the broker's cost per message low.

Driven through the broker probe the gateway benchmark uses (testbed/broker_probe.py), which publishes
with the gateway's connection class.
"""

from __future__ import annotations

from testbed.broker_probe import BODY, probe
from tests.support.broker import Broker, VirtualHost

QUEUE = "batching.inbox"
BATCH = 20


def test_publishes_inside_a_batch_reach_the_broker_in_one_write_and_are_all_confirmed(
    broker: Broker, vhost: VirtualHost, socket_writes: list[bytes]
) -> None:
    vhost.bind_to_inbound(QUEUE)
    result = probe(broker.amqp_url(vhost.name), in_flight=BATCH, seconds=0.5, broker_cpu=lambda: 0.0)

    first_batch = next(data for data in socket_writes if BODY in data)
    assert first_batch.count(BODY) == BATCH
    assert result.confirmed >= BATCH
    assert vhost.queue_depth(QUEUE) >= result.confirmed
