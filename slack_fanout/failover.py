"""Which broker node to try next, for clients given several (``AMQP_URL`` with one URL per node).

Pure policy, shared by the gateway's publisher and the consumer runtime: the nodes are tried
in the configured order, starting with the one after the node that last failed or whose
connection was lost, so a client never keeps knocking at a dead node while others serve.
Backing off between attempts stays each client's own business: it waits once every node has
failed in a row (``round_failed``), not after each node.
"""

from __future__ import annotations

import urllib.parse


class NodeRotation:
    """The configured nodes, in the order to try them now."""

    def __init__(self, urls: tuple[str, ...]) -> None:
        if not urls:
            raise ValueError("at least one broker URL is needed")
        self._urls = urls
        self._first = 0
        self._failures_in_a_row = 0

    @property
    def size(self) -> int:
        return len(self._urls)

    def order(self) -> tuple[str, ...]:
        """Every node, the one to try first at the front."""
        return self._urls[self._first :] + self._urls[: self._first]

    def current(self) -> str:
        return self._urls[self._first]

    def connected(self) -> None:
        """A connection was established: the count of failures in a row starts again."""
        self._failures_in_a_row = 0

    def move_on(self) -> bool:
        """The current node failed, or its connection was lost: the next one comes first.

        Returns whether every node has now failed in a row, when a client should back off
        before the next round rather than try the next node at once.
        """
        self._first = (self._first + 1) % len(self._urls)
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= len(self._urls):
            self._failures_in_a_row = 0
            return True
        return False


def node_address(url: str) -> str:
    """``host:port`` of a URL, fit for a log line (the URL itself holds a password)."""
    parts = urllib.parse.urlsplit(url)
    default_port = 5671 if parts.scheme == "amqps" else 5672
    return f"{parts.hostname}:{parts.port or default_port}"
