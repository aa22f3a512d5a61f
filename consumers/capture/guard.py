"""The fail-closed guard of a shadow: no connection to Slack except through the capture.

An audit hook (``sys.addaudithook``) sees every name resolution and every socket connect
of the process, whatever library makes it (``requests``, ``urllib``, ``httpx``, aiohttp).
One for a Slack host (``slack.com`` and every ``*.slack.com``: ``hooks``, ``files``,
``wss-primary``…) is refused with ``EscapeRefused`` unless the capture itself makes it (a
read-only method on the pass-through allowlist), and recorded as an *escape*: a log line,
a metric, and an entry in the envelope's behaviour record.

Out of its reach: a connection to an address given as a bare IP, one through an HTTP
proxy (the process resolves and connects to the proxy, not to Slack), a child process,
and native code that resolves names without Python's socket module (docs/shadow.md).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from slack_fanout.behaviour import Escape

log = logging.getLogger(__name__)

SLACK_DOMAIN = "slack.com"


class EscapeRefused(ConnectionRefusedError):
    """A shadow's connection to Slack that did not go through the capture: refused."""


def is_slack_host(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.lower().rstrip(".")
    return name == SLACK_DOMAIN or name.endswith("." + SLACK_DOMAIN)


_authorized: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "slack_fanout_capture_sends", default=False
)


@contextlib.contextmanager
def capture_sends() -> Iterator[None]:
    """The capture's own connection to Slack (an allowlisted call let through): not an escape."""
    token = _authorized.set(True)
    try:
        yield
    finally:
        _authorized.reset(token)


EscapeSink = Callable[[Escape], None]


class _Guard:
    def __init__(self) -> None:
        self.sink: EscapeSink | None = None

    def __call__(self, event: str, arguments: tuple[Any, ...]) -> None:
        if self.sink is None or not event.startswith("socket."):
            return  # every audited event of the process comes here: the first test must be cheap
        host, port = _destination(event, arguments)
        if host is None or not is_slack_host(host) or _authorized.get():
            return
        escape = Escape(host=str(host), port=port if isinstance(port, int) else None, where=_app_frame())
        try:
            self.sink(escape)
        finally:
            raise EscapeRefused(f"slack-fanout shadow: connection to {host} refused: it did not go through "
                                "the capture of slack_sdk (docs/shadow.md)")  # fmt: skip


def _destination(event: str, arguments: tuple[Any, ...]) -> tuple[object, object]:
    if event == "socket.getaddrinfo":  # (host, port, family, type, protocol)
        return arguments[0], arguments[1]
    if event in ("socket.gethostbyname", "socket.gethostbyname_ex"):
        return arguments[0], None
    if event in ("socket.connect", "socket.sendto") and len(arguments) >= 2:  # (socket, address)
        address = arguments[1]
        if isinstance(address, tuple) and address:
            return address[0], address[1] if len(address) > 1 else None
    return None, None


_GUARD = _Guard()
_installed = False


def install(sink: EscapeSink) -> None:
    """Refuse and report escapes from now on (an audit hook cannot be removed: ``uninstall`` mutes it)."""
    global _installed
    if not _installed:
        sys.addaudithook(_GUARD)
        _installed = True
    _GUARD.sink = sink


def uninstall() -> None:
    _GUARD.sink = None


_LIBRARY_DIRS = tuple(
    {os.path.realpath(path) for key in ("stdlib", "platstdlib", "purelib", "platlib")
     if (path := sysconfig.get_path(key))}
    | {str(Path(__file__).resolve().parents[1])}  # the consumers package itself
)  # fmt: skip


def _app_frame() -> str:
    """``file:line`` of the innermost frame outside the standard library, site-packages and us."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<") and not os.path.realpath(filename).startswith(_LIBRARY_DIRS):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return ""
