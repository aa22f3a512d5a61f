"""Running a call that may hang on a thread of its own, so that a hang fails its test, not the suite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def on_a_thread(call: Callable[[], T]) -> Future[T]:
    """``call()`` on a daemon thread: wait on the future with a timeout, and a call that hangs
    fails the test at that timeout instead of holding the suite."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return future
