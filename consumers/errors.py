"""How a consumer can fail, each failure named so the CLI and the runtime can answer it."""

from __future__ import annotations


class ConsumerError(Exception):
    """Base of the consumer runtime's errors."""


class HandlerNotFound(ConsumerError):
    """``--handler package.module:function`` (or ``--wsgi package.module:app``) names nothing
    importable and callable."""


class DeclarationRefused(ConsumerError):
    """The broker refused the consumer's exchange, queues or binding (arguments differ, or no permission).

    Retrying cannot help: an operator has to reconcile the broker with ``slack_fanout.topology``.
    """


class ConsumerCancelled(ConsumerError):
    """The broker cancelled the consumer (its queue was deleted): reconnect and declare it again."""


class CopyNotAccepted(ConsumerError):
    """The broker refused a retry copy or dead letter (nack, or no queue bound to its routing key).

    The original stays unacknowledged: the consumer reconnects and the broker delivers it again.
    """


class SlackCallFailed(ConsumerError):
    """Slack (or the response_url) refused a side effect: the message is retried."""


class NoResponseUrl(ConsumerError):
    """``respond`` was called for a request that carries no response_url."""


class PermanentFailure(ConsumerError):
    """Raised by a handler (or an adapter) for a message that no retry can help: dead-lettered at once.

    The forwarded app's or WSGI app's 4xx answer is one: the request itself is refused.
    """


class AppFailed(ConsumerError):
    """A WSGI or forwarded app failed (5xx, timeout, no connection): retried like any handler failure."""


class InvalidReply(ConsumerError):
    """A handler returned something that cannot be an answer to Slack (not a dict, str or None)."""
