"""Broker names and queue arguments, in one place for the gateway, the consumers and the tests.

``rabbitmq/definitions.json`` declares the same objects for a broker that boots with it;
a test keeps the two in agreement.
"""

from __future__ import annotations

import re
from typing import Any

INBOUND_EXCHANGE = "slack.inbound"
"""Durable fanout exchange the gateway publishes every accepted request to."""

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
"""RabbitMQ's pseudo-queue for replies to the publishing channel: nothing to declare or clean up."""

DELIVERY_LIMIT = 5
"""Failed deliveries a message may have beyond the first: the sixth failure dead-letters it."""

_CONSUMER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class InvalidConsumerName(ValueError):
    """A consumer name that would not make a clear, safe queue name."""


def check_consumer_name(name: str) -> str:
    if not _CONSUMER_NAME.fullmatch(name):
        raise InvalidConsumerName(
            f"consumer name {name!r} must be 1-63 of a-z, 0-9, '_' or '-', starting with a letter or digit"
        )
    return name


def consumer_queue(name: str) -> str:
    return f"slack.{check_consumer_name(name)}"


def dead_letter_queue(name: str) -> str:
    return f"{consumer_queue(name)}.dead"


def consumer_queue_arguments(name: str) -> dict[str, Any]:
    """A quorum queue: replicated when clustered, and it counts deliveries itself.

    The broker dead-letters a message through the default exchange to the consumer's
    dead-letter queue after ``DELIVERY_LIMIT`` + 1 failed deliveries, so a poison message
    can neither block the queue nor loop forever.
    """
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue(name),
    }


def dead_letter_queue_arguments() -> dict[str, Any]:
    return {"x-queue-type": "quorum"}


def definitions(consumers: tuple[str, ...] = ("primary", "shadow"), vhost: str = "/") -> dict[str, Any]:
    """The broker objects above in RabbitMQ's definitions format (``rabbitmq/definitions.json``)."""
    queues = []
    for name in consumers:
        queues.append(_queue(dead_letter_queue(name), vhost, dead_letter_queue_arguments()))
        queues.append(_queue(consumer_queue(name), vhost, consumer_queue_arguments(name)))
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [
            {"name": INBOUND_EXCHANGE, "vhost": vhost, "type": "fanout", "durable": True,
             "auto_delete": False, "internal": False, "arguments": {}}
        ],
        "queues": queues,
        "bindings": [
            {"source": INBOUND_EXCHANGE, "vhost": vhost, "destination": consumer_queue(name),
             "destination_type": "queue", "routing_key": "", "arguments": {}}
            for name in consumers
        ],
    }  # fmt: skip


def _queue(name: str, vhost: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": arguments}


if __name__ == "__main__":
    import json

    print(json.dumps(definitions(), indent=2))
