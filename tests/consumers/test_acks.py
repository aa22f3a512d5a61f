"""When settled messages are acknowledged: in delivery order, in batches, never before their records."""

from __future__ import annotations

import pytest

from consumers.acks import AckWindow


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def window(batch: int = 5, delay: float = 0.005) -> tuple[AckWindow, Clock]:
    clock = Clock()
    acks = AckWindow(batch, delay, clock)
    for tag in range(1, 11):
        acks.delivered(tag)
    return acks, clock


def every_record_confirmed(_sequence: int) -> bool:
    return True


def test_nothing_is_due_before_a_message_is_settled() -> None:
    acks, _ = window()
    assert not acks.has_settled() and not acks.is_due()
    assert acks.wait_time() == 0.5


def test_a_settled_message_waits_at_most_the_delay_for_others_to_share_its_ack() -> None:
    acks, clock = window(delay=0.005)
    acks.settled(1)
    assert not acks.is_due() and acks.wait_time() == pytest.approx(0.005)
    clock.now += 0.005
    assert acks.is_due() and acks.wait_time() == 0
    assert acks.take(every_record_confirmed) == 1


def test_a_full_batch_is_due_at_once() -> None:
    acks, _ = window(batch=3)
    for tag in (1, 2, 3):
        acks.settled(tag)
    assert acks.is_due()
    assert acks.take(every_record_confirmed) == 3


def test_only_the_run_settled_in_delivery_order_is_acknowledged() -> None:
    acks, clock = window()
    for tag in (1, 2, 4, 5):
        acks.settled(tag)
    assert acks.take(every_record_confirmed) == 2  # 3 is still in a handler's hands
    assert acks.has_settled() and acks.wait_time() == pytest.approx(0.005)  # 4 and 5 wait again
    acks.settled(3)
    clock.now += 0.005
    assert acks.take(every_record_confirmed) == 5


def test_a_message_waits_for_its_record_and_holds_up_those_after_it() -> None:
    acks, clock = window()
    acks.settled(1)
    acks.settled(2, record=7)
    acks.settled(3)
    confirmed: set[int] = set()
    assert acks.take(confirmed.__contains__) == 1
    clock.now += 0.005
    assert acks.take(confirmed.__contains__) is None
    confirmed.add(7)
    assert acks.take(confirmed.__contains__) == 3
    assert not acks.has_settled()


def test_when_the_oldest_is_not_ready_the_batch_falls_due_again_after_the_delay() -> None:
    acks, clock = window(delay=0.005)
    acks.settled(1, record=1)
    clock.now += 0.005
    assert acks.take(lambda _sequence: False) is None
    assert not acks.is_due() and acks.wait_time() == pytest.approx(0.005)
