"""Which envelope a Slack call belongs to, on whichever thread the app makes it.

The dispatcher opens a ``Handling`` for each envelope and makes it current (a context
variable) around the handler. Context variables do not follow work onto other threads, and
Bolt runs its listeners on a ``ThreadPoolExecutor`` (after ``ack()``, and its lazy
listeners too), so ``propagate_into_threads`` wraps ``ThreadPoolExecutor.submit`` and
``threading.Thread.start``: work started while a handling is current runs with that
handling current, and counts as the handling's pending work until it returns. A request
is *settled* when its handler has returned and its pending work is done, or at a bound.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import thread as futures_thread
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_fanout.behaviour import Answer, Escape, SlackCall
from slack_fanout.envelope import utc_now


class Handling:
    """What one envelope's handling did so far; shared by every thread that works for it."""

    def __init__(self, envelope_id: str, fake_seconds: int) -> None:
        self.envelope_id = envelope_id
        self.fake_seconds = fake_seconds
        """The whole seconds of the fake ``ts`` values a shadow hands out for this envelope."""
        self.started_at: datetime = utc_now()
        self.started = time.perf_counter()
        self._condition = threading.Condition()
        self._pending = 0
        self._sequence = 0
        self._closed = False
        self._calls: list[SlackCall] = []
        self._escapes: list[Escape] = []
        self._exceptions: list[str] = []
        self.answer: Answer | None = None
        """The app's synchronous answer, as an adapter (``--wsgi``, ``--forward``) got it."""

    @property
    def has_pending_work(self) -> bool:
        with self._condition:
            return self._pending > 0

    def offset_ms(self, instant: float | None = None) -> float:
        return round(((time.perf_counter() if instant is None else instant) - self.started) * 1000, 3)

    def next_sequence(self) -> int:
        with self._condition:
            self._sequence += 1
            return self._sequence

    def add_call(self, call: SlackCall) -> bool:
        """False once the record is built: the call came too late to be in it."""
        with self._condition:
            if self._closed:
                return False
            self._calls.append(call)
            return True

    def add_escape(self, escape: Escape) -> None:
        with self._condition:
            self._escapes.append(escape)

    def add_exception(self, description: str) -> None:
        with self._condition:
            if description not in self._exceptions:
                self._exceptions.append(description)

    def work_started(self) -> None:
        with self._condition:
            self._pending += 1

    def work_done(self) -> None:
        with self._condition:
            self._pending -= 1
            if self._pending == 0:
                self._condition.notify_all()

    def settle(self, timeout: float) -> Settled:
        """Wait until the work this handling started is done (at most ``timeout`` s), then close it."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._pending > 0 and (left := deadline - time.monotonic()) > 0:
                self._condition.wait(left)
            self._closed = True
            return Settled(
                settled=self._pending == 0,
                duration_ms=self.offset_ms(),
                calls=sorted(self._calls, key=lambda call: call.offset_ms),
                escapes=list(self._escapes),
                exceptions=list(self._exceptions),
            )


@dataclass(frozen=True)
class Settled:
    settled: bool
    duration_ms: float
    calls: list[SlackCall]
    escapes: list[Escape]
    exceptions: list[str]


_current: contextvars.ContextVar[Handling | None] = contextvars.ContextVar(
    "slack_fanout_handling", default=None
)


_opened_any = False


def open_handling(envelope_id: str, fake_seconds: int) -> Handling:
    global _opened_any
    _opened_any = True
    return Handling(envelope_id, fake_seconds)


def opened_any() -> bool:
    """Whether any request was handled yet: calls before the first are the app's start-up."""
    return _opened_any


def current() -> Handling | None:
    return _current.get()


def note_answer(status: int, content_type: str, body: bytes) -> None:
    """The app's answer, for the current request's record (the replay adapters call this)."""
    handling = _current.get()
    if handling is not None:
        handling.answer = Answer(status=status, content_type=content_type or None,
                                 body=body.decode("utf-8", "replace"))  # fmt: skip


@contextlib.contextmanager
def handling_of(handling: Handling | None) -> Iterator[None]:
    """Make ``handling`` current in this thread (and in what it starts) for the block."""
    token = _current.set(handling)
    try:
        yield
    finally:
        _current.reset(token)


def _carried(handling: Handling | None, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` run in a copy of the caller's context (its handling, and the guard's permission
    when the capture itself resolves a name on a thread: aiohttp does), counted as the handling's
    pending work until it returns."""
    context = contextvars.copy_context()
    if handling is not None:
        handling.work_started()

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return context.run(function, *args, **kwargs)
        except BaseException as error:
            if handling is not None:
                handling.add_exception(describe(error))
            raise
        finally:
            if handling is not None:
                handling.work_done()

    return run


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


_original_submit = ThreadPoolExecutor.submit
_original_start = threading.Thread.start


def _submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
    handling = _current.get()
    try:
        return _original_submit(self, _carried(handling, fn), *args, **kwargs)
    except BaseException:
        if handling is not None:
            handling.work_done()  # it never ran: the executor refused it (shut down)
        raise


def _start(self: threading.Thread) -> None:
    target = getattr(self, "_target", None)
    if target is None or target is futures_thread._worker:
        # An executor's own worker threads outlive any one request: their work items are carried.
        return _original_start(self)
    handling = _current.get()
    self._target = _carried(handling, target)  # type: ignore[attr-defined]
    try:
        return _original_start(self)
    except BaseException:
        if handling is not None:
            handling.work_done()
        raise


def propagate_into_threads() -> None:
    """Patch the classes (not instances: Bolt makes its executor before we see it); idempotent."""
    ThreadPoolExecutor.submit = _submit  # type: ignore[assignment,method-assign]
    threading.Thread.start = _start  # type: ignore[method-assign]
