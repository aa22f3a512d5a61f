"""What a request thread may do, from the state of the publisher's link to the broker."""

from __future__ import annotations

import threading
import time

import pytest

from gateway.errors import BrokerBlocked, BrokerUnreachable, ShuttingDown
from gateway.link import Link, LinkState


def test_a_publish_is_attempted_only_on_a_ready_link_not_blocked_by_an_alarm() -> None:
    link = Link()
    link.set(LinkState.READY)
    link.raise_unless_usable(time.monotonic())
    assert link.usable(time.monotonic())
    link.blocked = True
    with pytest.raises(BrokerBlocked):
        link.raise_unless_usable(time.monotonic())
    assert not link.usable(time.monotonic())


def test_a_link_that_is_down_fails_at_once() -> None:
    link = Link()
    link.set(LinkState.DOWN)
    with pytest.raises(BrokerUnreachable):
        link.raise_unless_usable(time.monotonic() + 60)


def test_a_request_waits_for_a_link_being_made_until_it_is_ready() -> None:
    link = Link()
    threading.Timer(0.05, link.set, (LinkState.READY,)).start()
    assert link.settled_state(time.monotonic() + 30) is LinkState.READY


def test_a_request_waits_for_a_link_being_made_no_longer_than_its_deadline() -> None:
    link = Link()
    with pytest.raises(BrokerUnreachable):
        link.raise_unless_usable(time.monotonic() + 0.05)
    assert link.state is LinkState.CONNECTING


def test_closed_is_final_and_says_the_gateway_is_shutting_down() -> None:
    link = Link()
    link.close()
    assert not link.set(LinkState.READY)
    with pytest.raises(ShuttingDown):
        link.raise_unless_usable(time.monotonic())


def test_only_a_change_of_state_is_reported_so_that_it_is_logged_once() -> None:
    link = Link()
    assert link.set(LinkState.DOWN)
    assert not link.set(LinkState.DOWN)
    assert link.set(LinkState.CONNECTING)
