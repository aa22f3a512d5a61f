"""The hand-over of publishes to the I/O thread: batched wake-ups, a bounded number in flight."""

from __future__ import annotations

import pika
import pytest

from gateway.confirms import PendingConfirm
from gateway.errors import BrokerUnreachable, GatewayOverloaded
from gateway.outbox import Message, Outbox


def message(number: int) -> Message:
    return PendingConfirm(f"m{number}"), b"{}", pika.BasicProperties()


def opened(limit: int = 10) -> Outbox:
    outbox = Outbox(limit)
    outbox.open()
    return outbox


def test_one_wake_up_of_the_io_thread_serves_every_message_queued_before_it_drains() -> None:
    outbox = opened()
    wakes = [outbox.put(message(number)) for number in range(3)]
    assert wakes == [True, False, False]
    assert [pending.message_id for pending, _body, _properties in outbox.drain()] == ["m0", "m1", "m2"]
    assert outbox.put(message(3)) is True  # drained: the next one wakes it again


def test_past_its_limit_it_sheds_load_at_once_until_a_waiter_is_done() -> None:
    outbox = opened(limit=2)
    outbox.put(message(0))
    outbox.put(message(1))
    outbox.drain()  # sent, still awaiting confirms: they count until their callers are done
    with pytest.raises(GatewayOverloaded):
        outbox.put(message(2))
    outbox.done()
    outbox.put(message(2))
    assert outbox.in_flight == 2


def test_it_takes_nothing_before_the_link_is_first_ready() -> None:
    with pytest.raises(BrokerUnreachable):
        Outbox(10).put(message(0))


def test_a_lost_link_fails_what_is_still_queued_and_takes_nothing_more() -> None:
    outbox = opened()
    pending, _body, _properties = queued = message(0)
    outbox.put(queued)
    lost = BrokerUnreachable("the broker connection was lost before the confirm")
    outbox.shut(lost)
    with pytest.raises(BrokerUnreachable):
        pending.wait(0)
    with pytest.raises(BrokerUnreachable):
        outbox.put(message(1))
    assert outbox.drain() == []
    outbox.open()
    assert outbox.put(message(2)) is True  # the wake-up owed before the loss is not owed any more
