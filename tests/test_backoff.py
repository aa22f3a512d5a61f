"""The wait before a client tries again: the same schedule for the gateway, consumers and Socket Mode."""

from __future__ import annotations

from slack_fanout.backoff import Backoff


def test_reconnect_delays_double_up_to_the_maximum_and_start_over_once_connected() -> None:
    backoff = Backoff(minimum=0.5, maximum=3)
    assert [backoff.delay() for _ in range(5)] == [0.5, 1, 2, 3, 3]
    backoff.reset()
    assert backoff.delay() == 0.5
    assert backoff.longest == 3
