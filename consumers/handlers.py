"""What a handler is, and how one is found from ``package.module:function``."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from consumers.errors import HandlerNotFound
from slack_fanout.envelope import Envelope

if TYPE_CHECKING:
    from consumers.context import Context

Handler = Callable[[Envelope, "Context"], object]
"""Called once per message; returning acknowledges it. Raising parks the message for a retry after
the next delay, and after the last one in ``slack.<name>.dead``; raising ``PermanentFailure``
dead-letters it at once.

What it returns is its answer to Slack (``consumers.replies.reply_from_value``), sent back
by a consumer run with ``--reply``."""


def load_callable(reference: str, option: str = "--handler") -> Callable[..., Any]:
    """The callable ``reference`` (``package.module:name``) names, or ``HandlerNotFound`` saying why
    there is none; ``option`` names the command-line option in the message.

    The current directory is importable, as under ``python -m`` or gunicorn, whichever way the
    consumer was started (the ``slack-fanout`` script puts only its own directory on the path).
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise HandlerNotFound(f"{option} {reference!r}: expected package.module:name")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # importing runs the module: any error there means "cannot import"
        raise HandlerNotFound(
            f"{option} {reference!r}: cannot import {module_name!r} ({type(error).__name__}: {error})"
        ) from None
    found = getattr(module, attribute, None)
    if not callable(found):
        raise HandlerNotFound(
            f"{option} {reference!r}: {module_name!r} has nothing callable named {attribute!r}"
        )
    return found
