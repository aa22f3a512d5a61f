"""Bookkeeping for publisher confirms: which request waits for which delivery tag.

Touched only by the publisher's I/O thread, except ``PendingConfirm.wait``, which the
request thread calls. The broker numbers published messages 1, 2, 3... per channel and
may acknowledge several at once (``multiple``); a mandatory message it could not route
comes back (basic.return) just before its ack.
"""

from __future__ import annotations

import itertools
import threading

from gateway.errors import ConfirmTimeout, PublishFailed, PublishNacked, Unroutable
from slack_fanout.topology import INBOUND_EXCHANGE


class PendingConfirm:
    """One publish a request thread is waiting on."""

    __slots__ = ("_done", "_error", "message_id")

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self._done = threading.Event()
        self._error: PublishFailed | None = None

    def resolve(self, error: PublishFailed | None = None) -> None:
        if not self._done.is_set():
            self._error = error
            self._done.set()

    @property
    def resolved(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float) -> None:
        """Return once confirmed; raise the reason it was not, or ``ConfirmTimeout``."""
        if not self._done.wait(max(timeout, 0)):
            raise ConfirmTimeout(f"the broker did not confirm within {timeout:.1f} s")
        if self._error is not None:
            raise self._error


class ConfirmTracker:
    """Delivery tags of one confirm-mode channel, in publish order."""

    def __init__(self) -> None:
        self._next_tag = 1
        self._pending: dict[int, PendingConfirm] = {}
        self._returned: set[str] = set()

    def __len__(self) -> int:
        return len(self._pending)

    def published(self, pending: PendingConfirm) -> None:
        self._pending[self._next_tag] = pending
        self._next_tag += 1

    def returned(self, message_id: str | None) -> None:
        if message_id is not None:
            self._returned.add(message_id)

    def acked(self, tag: int, multiple: bool) -> int:
        return self._settle(tag, multiple, nacked=False)

    def nacked(self, tag: int, multiple: bool) -> int:
        return self._settle(tag, multiple, nacked=True)

    def fail_all(self, error: PublishFailed) -> None:
        """The channel is gone: whatever it had not confirmed can no longer be confirmed."""
        for pending in self._pending.values():
            pending.resolve(error)
        self._pending.clear()
        self._returned.clear()

    def _settle(self, tag: int, multiple: bool, nacked: bool) -> int:
        tags = list(itertools.takewhile(lambda t: t <= tag, self._pending)) if multiple else [tag]
        for settled in tags:
            pending = self._pending.pop(settled, None)
            if pending is not None:
                pending.resolve(self._outcome(pending.message_id, nacked))
        return len(tags)

    def _outcome(self, message_id: str, nacked: bool) -> PublishFailed | None:
        if message_id in self._returned:
            self._returned.discard(message_id)
            return Unroutable(f"no queue is bound to exchange {INBOUND_EXCHANGE!r}")
        if nacked:
            return PublishNacked("the broker refused the message")
        return None
