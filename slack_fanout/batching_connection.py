"""A pika connection that writes a batch of frames in one piece, for the gateway's publisher and the
consumers.

It overrides ``_adapter_emit_data``, the private method through which pika hands every frame to
the socket, and the consumer runtime puts it under pika's ``BlockingConnection`` through that
class's ``_impl_class`` argument. pika is pinned in pyproject.toml to the range this was tested
with, and ``tests/test_batching_connection.py`` fails loudly when a new pika moves either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pika


class BatchingConnection(pika.SelectConnection):
    """A connection that, inside ``batched()``, writes every frame it is given in one piece.

    pika hands each frame (three per published message: method, header, body) to the socket
    separately: one system call each, and as many small reads for the broker. Joined, a batch
    of publishes is one write; the broker's CPU per message falls by about a fifth
    (docs/performance.md).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._held: list[bytes] | None = None
        super().__init__(*args, **kwargs)

    @contextmanager
    def batched(self) -> Iterator[None]:
        self._held = []
        try:
            yield
        finally:
            self._release()
            self._held = None

    @contextmanager
    def unbatched(self) -> Iterator[None]:
        """Inside ``batched()``: write what the batch holds now, and every frame sent meanwhile at once.

        For a publish whose confirm is then awaited: held back, it would never be confirmed.
        """
        was_batching = self._held is not None
        self._release()
        self._held = None
        try:
            yield
        finally:
            if was_batching:
                self._held = []

    def _release(self) -> None:
        """On a closed connection what the batch holds is dropped, as pika drops writes to a closed socket."""
        if not self._held:
            return
        held, self._held = self._held, []
        if not self.is_closed:
            super()._adapter_emit_data(b"".join(held))

    def _adapter_emit_data(self, data: bytes) -> None:
        if self._held is None:
            super()._adapter_emit_data(data)
        else:
            self._held.append(data)


def open_blocking(parameters: Sequence[pika.ConnectionParameters]) -> pika.BlockingConnection:
    """A ``BlockingConnection`` over a ``BatchingConnection``; ``batching(connection)`` is the latter.

    pika tries ``parameters`` in turn until one node accepts, as it does for a plain one.
    """
    return pika.BlockingConnection(list(parameters), _impl_class=BatchingConnection)


def batching(connection: pika.BlockingConnection) -> BatchingConnection:
    """The connection under a blocking one that ``open_blocking`` opened."""
    underneath = connection._impl
    if not isinstance(underneath, BatchingConnection):
        raise TypeError("not opened by open_blocking: no batching connection underneath")
    return underneath
