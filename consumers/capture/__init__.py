"""In-process capture of every Slack call an app makes through slack_sdk (docs/shadow.md).

``install`` runs before the target module is imported (Bolt's ``App()`` calls
``auth.test`` at construction): it hooks slack_sdk's transport (``hooks``), carries the
envelope being handled onto the threads the app starts (``correlation``) and, in a shadow,
arms the guard that refuses any other connection to Slack (``guard``).
"""

from __future__ import annotations

import logging

from consumers.capture import correlation, guard, hooks
from consumers.capture.capture import Capture, CaptureConfig
from consumers.capture.hooks import HookPointMoved

__all__ = ["Capture", "CaptureConfig", "HookPointMoved", "active", "install", "record_logged_exceptions",
           "uninstall"]  # fmt: skip

_active: Capture | None = None


def install(config: CaptureConfig) -> Capture:
    """Raises ``HookPointMoved`` when the installed slack_sdk cannot be captured: nothing is patched then."""
    global _active
    capture = Capture(config)
    hooks.install(capture)
    correlation.propagate_into_threads()
    if config.shadow:
        guard.install(capture.escape)
    _active = capture
    return capture


def active() -> Capture | None:
    return _active


def uninstall() -> None:
    """Undo ``install`` (the threads' correlation stays: it is inert without the capture)."""
    global _active
    hooks.uninstall()
    guard.uninstall()
    _active = None


class _ExceptionsIntoRecords(logging.Handler):
    """An exception an app logs while handling a request (Bolt logs its listeners' errors) goes in
    that request's record, as one the handler raised does."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        handling = correlation.current()
        if handling is not None and record.exc_info and record.exc_info[1] is not None:
            handling.add_exception(correlation.describe(record.exc_info[1]))


def record_logged_exceptions() -> None:
    """After logging is configured (it replaces the root logger's handlers)."""
    logging.getLogger().addHandler(_ExceptionsIntoRecords())
