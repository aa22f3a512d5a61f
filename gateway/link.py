"""The state of a publisher's link to the broker, shared between its I/O thread and the request threads.

No pika here: the I/O thread reports what happened (``set``, ``blocked``), and a request thread
asks whether a publish may be attempted now, waiting a bounded time for a link being made.
"""

from __future__ import annotations

import threading
import time
from enum import Enum

from gateway.errors import BrokerBlocked, BrokerUnreachable, ShuttingDown


class LinkState(Enum):
    CONNECTING = "connecting"
    READY = "ready"
    DOWN = "down"
    CLOSED = "closed"


class Link:
    """Thread-safe; ``CLOSED`` is final."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._state = LinkState.CONNECTING
        self.blocked = False
        """The broker blocks publishers (a memory or disk alarm)."""

    @property
    def state(self) -> LinkState:
        return self._state

    def set(self, state: LinkState) -> bool:
        """Move to ``state`` unless closed; whether the state changed (to log a change once)."""
        with self._changed:
            if self._state is LinkState.CLOSED or self._state is state:
                return False
            self._state = state
            self._changed.notify_all()
            return True

    def close(self) -> None:
        with self._changed:
            self._state = LinkState.CLOSED
            self._changed.notify_all()

    def settled_state(self, deadline: float) -> LinkState:
        """The state once it is no longer connecting, or at ``deadline`` (a ``time.monotonic()`` instant)."""
        with self._changed:
            while self._state is LinkState.CONNECTING and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            return self._state

    def raise_unless_usable(self, deadline: float) -> None:
        """Raise the ``PublishFailed`` that says why a publish cannot be attempted now."""
        state = self.settled_state(deadline)
        if state is LinkState.CLOSED:
            raise ShuttingDown("the gateway is shutting down")
        if state is not LinkState.READY:
            raise BrokerUnreachable("the broker is unreachable")
        if self.blocked:
            raise BrokerBlocked("the broker is blocking publishers (memory or disk alarm)")

    def usable(self, deadline: float) -> bool:
        return self.settled_state(deadline) is LinkState.READY and not self.blocked
