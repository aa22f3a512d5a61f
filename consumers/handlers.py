"""What a handler is, and how one is found from ``package.module:function``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from consumers.errors import HandlerNotFound
from slack_fanout.envelope import Envelope

if TYPE_CHECKING:
    from consumers.context import Context

Handler = Callable[[Envelope, "Context"], object]
"""Called once per message; returning acknowledges it, raising has it delivered again."""


def load_handler(reference: str) -> Handler:
    """The function ``reference`` names, or ``HandlerNotFound`` saying why there is none."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise HandlerNotFound(f"--handler {reference!r}: expected package.module:function")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # importing runs the module: any error there means "cannot import"
        raise HandlerNotFound(
            f"--handler {reference!r}: cannot import {module_name!r} ({type(error).__name__}: {error})"
        ) from None
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise HandlerNotFound(f"--handler {reference!r}: {module_name!r} has no function {attribute!r}")
    return handler
