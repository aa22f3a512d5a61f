"""How a consumer can fail, each failure named so the CLI and the runtime can answer it."""

from __future__ import annotations


class ConsumerError(Exception):
    """Base of the consumer runtime's errors."""


class HandlerNotFound(ConsumerError):
    """``--handler package.module:function`` names nothing importable and callable."""


class DeclarationRefused(ConsumerError):
    """The broker refused the consumer's exchange, queues or binding (arguments differ, or no permission).

    Retrying cannot help: an operator has to reconcile the broker with ``slack_fanout.topology``.
    """


class ConsumerCancelled(ConsumerError):
    """The broker cancelled the consumer (its queue was deleted): reconnect and declare it again."""


class SlackCallFailed(ConsumerError):
    """Slack (or the response_url) refused a side effect: the message is retried."""


class NoResponseUrl(ConsumerError):
    """``respond`` was called for a request that carries no response_url."""
