"""What a started process holds stays out of the collector's full passes, and its garbage is not kept."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from slack_fanout.startup_heap import freeze_startup_heap


class Node:
    """A reference cycle needs the collector to be freed."""

    def __init__(self) -> None:
        self.partner: Node = self


@pytest.fixture(autouse=True)
def _unfreeze_after() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test process collects as before


def collected_objects() -> list[object]:
    """What the collector's passes walk; the frozen objects are not among them."""
    return gc.get_objects()


def test_objects_alive_at_start_up_are_no_longer_walked_by_the_collector() -> None:
    app_state = {"routes": [Node()]}

    frozen = freeze_startup_heap()

    assert frozen >= 1
    assert not any(candidate is app_state for candidate in collected_objects())


def test_objects_made_afterwards_are_collected_as_before() -> None:
    freeze_startup_heap()

    per_request = [Node()]

    assert any(candidate is per_request for candidate in collected_objects())


def test_garbage_waiting_for_the_collector_is_freed_first_not_kept_forever() -> None:
    freed: list[str] = []
    cycle = Node()
    weakref.finalize(cycle, freed.append, "freed")
    del cycle

    freeze_startup_heap()

    assert freed == ["freed"]
