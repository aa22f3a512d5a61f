"""Specification of confirm bookkeeping: each request learns exactly what happened to its message."""

import threading

import pytest

from gateway.confirms import ConfirmTracker, PendingConfirm
from gateway.errors import BrokerUnreachable, ConfirmTimeout, PublishNacked, Unroutable


def publish(tracker: ConfirmTracker, *message_ids: str) -> list[PendingConfirm]:
    pendings = [PendingConfirm(message_id) for message_id in message_ids]
    for pending in pendings:
        tracker.published(pending)
    return pendings


def test_an_ack_confirms_only_its_own_tag() -> None:
    tracker = ConfirmTracker()
    first, second = publish(tracker, "a", "b")
    tracker.acked(2, multiple=False)
    second.wait(0)
    assert not first.resolved
    assert len(tracker) == 1


def test_a_multiple_ack_confirms_every_tag_up_to_it() -> None:
    tracker = ConfirmTracker()
    pendings = publish(tracker, "a", "b", "c")
    assert tracker.acked(2, multiple=True) == 2
    assert [p.resolved for p in pendings] == [True, True, False]


def test_a_nack_fails_the_request_with_publish_nacked() -> None:
    tracker = ConfirmTracker()
    [pending] = publish(tracker, "a")
    tracker.nacked(1, multiple=False)
    with pytest.raises(PublishNacked):
        pending.wait(0)


def test_a_returned_message_is_unroutable_even_though_the_broker_then_acks_it() -> None:
    tracker = ConfirmTracker()
    returned, delivered = publish(tracker, "lost", "kept")
    tracker.returned("lost")
    tracker.acked(2, multiple=True)
    with pytest.raises(Unroutable):
        returned.wait(0)
    delivered.wait(0)


def test_losing_the_channel_fails_everything_unconfirmed() -> None:
    tracker = ConfirmTracker()
    pendings = publish(tracker, "a", "b")
    tracker.fail_all(BrokerUnreachable("gone"))
    for pending in pendings:
        with pytest.raises(BrokerUnreachable):
            pending.wait(0)
    assert len(tracker) == 0


def test_a_request_stops_waiting_at_its_timeout() -> None:
    with pytest.raises(ConfirmTimeout):
        PendingConfirm("a").wait(0.01)


def test_a_confirm_from_another_thread_wakes_the_waiting_request() -> None:
    tracker = ConfirmTracker()
    [pending] = publish(tracker, "a")
    threading.Timer(0.05, tracker.acked, args=(1, False)).start()
    pending.wait(5)


def test_the_first_outcome_wins() -> None:
    pending = PendingConfirm("a")
    pending.resolve()
    pending.resolve(BrokerUnreachable("late"))
    pending.wait(0)
