"""The retry decision: which home a message that was not handled goes to next."""

from __future__ import annotations

import pytest

from consumers.dispatch import Outcome
from consumers.retries import (
    ERROR_HEADER,
    RETRIES_HEADER,
    Home,
    copy_headers,
    last_delivery,
    next_home,
    retries_left,
    retries_made,
)
from slack_fanout.topology import DELIVERY_LIMIT

SCHEDULE = (200, 1_000, 5_000)


def test_a_failure_waits_for_the_schedules_next_delay() -> None:
    homes = [next_home("audit", Outcome.RETRY, made, SCHEDULE) for made in range(3)]
    assert homes == [
        Home("slack.audit.wait.200ms", 200),
        Home("slack.audit.wait.1000ms", 1_000),
        Home("slack.audit.wait.5000ms", 5_000),
    ]
    assert all(home.is_retry for home in homes)


def test_after_the_last_retry_a_failure_is_dead_lettered() -> None:
    for made in (3, 4, 99):
        home = next_home("audit", Outcome.RETRY, made, SCHEDULE)
        assert home == Home("slack.audit.dead", None) and not home.is_retry


def test_a_message_that_can_never_be_handled_is_dead_lettered_at_once() -> None:
    assert next_home("audit", Outcome.DEAD_LETTER, 0, SCHEDULE) == Home("slack.audit.dead", None)


def test_a_schedule_may_repeat_a_delay_and_start_below_a_second() -> None:
    schedule = (50, 50, 1_000)
    assert [next_home("audit", Outcome.RETRY, made, schedule).queue for made in range(4)] == [
        "slack.audit.wait.50ms", "slack.audit.wait.50ms", "slack.audit.wait.1000ms", "slack.audit.dead",
    ]  # fmt: skip


def test_a_handled_message_has_no_next_home() -> None:
    with pytest.raises(ValueError):
        next_home("audit", Outcome.ACK, 0, SCHEDULE)


def test_retries_left_counts_down_to_the_last_attempt() -> None:
    assert [retries_left(made, SCHEDULE) for made in range(5)] == [3, 2, 1, 0, 0]


def test_a_copy_carries_the_count_one_up_and_the_error_and_not_the_brokers_delivery_count() -> None:
    original = {"x-slack-fanout-replayed": "archive", "x-delivery-count": 2, RETRIES_HEADER: 1}
    copied = copy_headers(original, retries_made(original), "HTTP 500: database unavailable")
    assert copied == {
        "x-slack-fanout-replayed": "archive",
        RETRIES_HEADER: 2,
        ERROR_HEADER: "HTTP 500: database unavailable",
    }
    assert original[RETRIES_HEADER] == 1  # the delivered message's headers are left alone


def test_a_first_delivery_or_a_count_not_ours_has_made_no_retries() -> None:
    assert retries_made(None) == 0
    assert retries_made({}) == 0
    assert retries_made({RETRIES_HEADER: -1}) == 0
    assert retries_made({RETRIES_HEADER: "3"}) == 0
    assert retries_made({RETRIES_HEADER: 3}) == 3


def test_the_delivery_the_queue_would_drop_if_unsettled_again_is_the_last() -> None:
    assert [last_delivery({"x-delivery-count": count}) for count in range(DELIVERY_LIMIT + 2)] == [
        *[False] * DELIVERY_LIMIT,
        True,
        True,
    ]
    assert not last_delivery(None) and not last_delivery({"x-delivery-count": "5"})
