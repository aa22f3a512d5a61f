"""Waiting on a condition, never on a clock: the suite's one polling helper."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    condition: Callable[[], T],
    what: str,
    timeout: float = 10.0,
    *,
    interval: float = 0.05,
    context: Callable[[], str] | None = None,
    failure: type[BaseException] = AssertionError,
) -> T:
    """``condition()``'s first truthy result, asked every ``interval`` seconds.

    Past ``timeout`` it raises ``failure``, naming ``what`` it waited for, the last result, and
    ``context()`` (a log's tail, say) when given: an ``AssertionError`` in a test, the error of
    its own kind where test infrastructure (a private broker, the container engine) waits.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            detail = f"\n{context()[-4000:]}" if context is not None else ""
            raise failure(f"timed out after {timeout:g} s waiting for {what} (last: {result!r}){detail}")
        time.sleep(interval)
