"""Broker names, queue arguments and users, in one place for the apps, the operator commands and the tests.

``rabbitmq/definitions.json`` declares the same objects for a broker that boots with it;
a test keeps the two in agreement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

INBOUND_EXCHANGE = "slack.inbound"
"""Durable fanout exchange the gateway publishes every accepted request to."""

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
"""RabbitMQ's pseudo-queue for replies to the publishing channel: nothing to declare or clean up."""

RETRY_DELAYS_MS = (1_000, 5_000, 30_000, 120_000, 600_000)
"""How long a failed message waits before each retry; after the last retry fails, it is dead-lettered.

Each wait happens in a queue of its own whose TTL sends the message back, so nothing is
held unacknowledged in a consumer's memory while it waits."""

DELIVERY_LIMIT = 5
"""Backstop for messages that never get as far as a failure (a consumer that crashes on them):
past this many redeliveries beyond the first, the quorum queue dead-letters them itself."""

UNBOUNDED_CONSUMERS = frozenset({"primary"})
"""Consumers whose queues may grow without bound: every other one is capped by policy, so a
shadow that stops consuming can never fill the broker into an alarm that blocks the gateway."""

BOUNDED_QUEUE_MAX_LENGTH = 100_000
"""Messages a bounded consumer's queue keeps; past it the oldest are dropped, never the publisher refused."""

BOUNDED_QUEUE_MESSAGE_TTL_MS = 24 * 3600 * 1000
"""A bounded consumer that is away for a day has missed that day's requests, not stored them."""

BOUNDED_DEAD_LETTER_MAX_LENGTH = 10_000

CONSUMERS = ("primary", "shadow")
"""The consumers the deployment runs: each gets its queues and a broker user of its own."""

ARCHIVE = "archive"
ARCHIVE_QUEUE = f"slack.{ARCHIVE}"
"""A stream bound to the exchange: every request of the last days, replayable by any reader."""

ARCHIVE_MAX_AGE = "7D"
ARCHIVE_MAX_LENGTH_BYTES = 5_000_000_000
ARCHIVE_SEGMENT_BYTES = 100_000_000
"""Retention drops whole segments: small ones keep the archive close to its age and size limits."""

REPLAYED_HEADER = "x-slack-fanout-replayed"
"""On a copy ``slack-fanout replay`` made of an archived request: when. The consumer then asks its
dedupe ledger whether it handled the request before, as it does for a redelivered message."""

BEHAVIOUR = "behaviour"
BEHAVIOUR_EXCHANGE = "slack.behaviour"
"""Durable fanout exchange every consumer publishes its behaviour records to (``slack_fanout.behaviour``)."""
BEHAVIOUR_STREAM = "slack.behaviour"
"""The stream bound behind it: the shadow verdict reads the records of every consumer from here."""
BEHAVIOUR_MAX_AGE = "7D"
BEHAVIOUR_MAX_LENGTH_BYTES = 2_000_000_000

ADMIN_USER = "admin"
GATEWAY_USER = "gateway"

REPLYING_CONSUMERS = frozenset({"primary"})
"""Consumers whose users may publish to the default exchange, as direct reply-to needs: with it a
user could publish into any queue by name, so only the consumer that answers Slack (``--reply``) has it."""

RESERVED_NAMES = frozenset({ARCHIVE, BEHAVIOUR, ADMIN_USER, GATEWAY_USER})
"""Names of the broker's shared objects and users that no consumer may take."""

_CONSUMER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


class InvalidConsumerName(ValueError):
    """A consumer name that would not make a clear, safe queue name."""


def check_consumer_name(name: str) -> str:
    if not _CONSUMER_NAME.fullmatch(name):
        raise InvalidConsumerName(
            f"consumer name {name!r} must be 1-63 of a-z, 0-9, '_' or '-', starting with a letter or digit"
        )
    if name in RESERVED_NAMES:
        raise InvalidConsumerName(f"consumer name {name!r} is taken by a shared queue, exchange or user")
    return name


def consumer_queue(name: str) -> str:
    return f"slack.{check_consumer_name(name)}"


def dead_letter_queue(name: str) -> str:
    return f"{consumer_queue(name)}.dead"


def consumer_queue_arguments(name: str) -> dict[str, Any]:
    """A quorum queue: replicated when clustered, and it counts deliveries itself.

    A message that crashed the consumer ``DELIVERY_LIMIT`` times is set aside in the consumer's
    dead-letter queue by the consumer itself, on its last delivery, so a poison message can
    neither block the queue nor loop forever. An unbounded consumer's queue also has the broker
    dead-letter it there, should that last delivery fail too. A bounded one's has no
    dead-letter exchange: it would copy every message the bound drops, a publish for each
    request once the queue is full, and the archive already keeps them all for ``replay``.
    """
    arguments: dict[str, Any] = {"x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT}
    if name in UNBOUNDED_CONSUMERS:
        arguments.update(_dead_letter_arguments(name))
    return arguments


def earlier_consumer_queue_arguments(name: str) -> dict[str, Any]:
    """What versions before drop-head without dead letters declared: a consumer still accepts its
    queue with these, and warns (docs/operations.md, "Upgrading: bounded queues")."""
    return {**consumer_queue_arguments(name), **_dead_letter_arguments(name)}


def _dead_letter_arguments(name: str) -> dict[str, Any]:
    """Through the default exchange to the consumer's dead-letter queue."""
    return {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letter_queue(name)}


def dead_letter_queue_arguments() -> dict[str, Any]:
    return {"x-queue-type": "quorum"}


def retry_exchange(name: str) -> str:
    """Direct exchange through which consumer ``name`` parks its copies (retry queues, dead letters)
    and through which the retry queues send them back to its queue.

    Routing key: the destination queue's name. The consumer writes only to names of its own,
    never to the default exchange, and an unbound key is returned, never silently dropped. So a
    consumer user without the default exchange may declare its retry queues for any schedule:
    declaring a queue needs write permission on its dead-letter exchange."""
    return f"{consumer_queue(name)}.retry"


def retry_queue(name: str, delay_ms: int) -> str:
    """Where a failed message of consumer ``name`` waits ``delay_ms`` before its retry.

    Not ``slack.<name>.retry.<delay>ms``: those were the classic queues of earlier versions
    (``legacy_retry_queue``), and a queue's type cannot change under its name."""
    return f"{consumer_queue(name)}.wait.{delay_ms}ms"


def legacy_retry_queue(name: str, delay_ms: int) -> str:
    """A classic retry queue of earlier versions, which could lose its messages in a restart.

    Nothing publishes to it any more; what it still holds goes back to the consumer's queue at
    its TTL, after which an operator deletes it (docs/operations.md, "Upgrading")."""
    return f"{consumer_queue(name)}.retry.{delay_ms}ms"


def retry_queues(name: str, delays_ms: tuple[int, ...]) -> list[str]:
    """One queue per distinct delay of a schedule, in order of delay."""
    return [retry_queue(name, delay) for delay in sorted(set(delays_ms))]


def retry_queue_arguments(name: str, delay_ms: int) -> dict[str, Any]:
    """Nobody consumes it: at the TTL the broker dead-letters the message back to the consumer's queue.

    A quorum queue, so that it is replicated like the consumer's queue, and so that the move back
    is at least once: the broker keeps the message until the consumer's queue has confirmed it,
    also across a restart or while that queue has no leader. (A classic queue dead-letters at
    most once: a message whose TTL runs out while the target is not available is dropped.)
    At-least-once dead-lettering requires ``reject-publish`` overflow; no length limit applies,
    so nothing is ever rejected for it. Duplicates it may make are skipped by the consumer's ledger.
    """
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": delay_ms,
        "x-dead-letter-exchange": retry_exchange(name),
        "x-dead-letter-routing-key": consumer_queue(name),
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def archive_queue_arguments() -> dict[str, Any]:
    """A stream: readers do not consume it, so one copy serves every replay, kept by age and size."""
    return {
        "x-queue-type": "stream",
        "x-max-age": ARCHIVE_MAX_AGE,
        "x-max-length-bytes": ARCHIVE_MAX_LENGTH_BYTES,
        "x-stream-max-segment-size-bytes": ARCHIVE_SEGMENT_BYTES,
    }


def behaviour_stream_arguments() -> dict[str, Any]:
    """A stream, like the archive: the comparer reads it from any offset, as often as it likes."""
    return {
        "x-queue-type": "stream",
        "x-max-age": BEHAVIOUR_MAX_AGE,
        "x-max-length-bytes": BEHAVIOUR_MAX_LENGTH_BYTES,
        "x-stream-max-segment-size-bytes": ARCHIVE_SEGMENT_BYTES,
    }


PLACEMENT = {"queue-leader-locator": "balanced"}
"""In a cluster, each new queue's leader goes to the node leading the fewest (RabbitMQ 3.10 and later;
the default before 4.0 is the declaring client's node, which puts every leader that one importer of
the definitions declares on one node). Replicas need nothing: a quorum queue gets three by default
(``quorum_cluster_size``), a stream one per node. Part of every policy, since only one applies to a queue."""


def bounding_policies(vhost: str = "/", max_length: int = BOUNDED_QUEUE_MAX_LENGTH) -> list[dict[str, Any]]:
    """Caps on every consumer queue but the unbounded ones', and on their dead-letter queues;
    below them, the leader placement for every other queue of ours.

    Overflow drops the oldest message (``drop-head``): ``reject-publish`` would nack the
    gateway and turn a full shadow queue into 503s for Slack, and ``reject-publish-dlx`` is not
    supported by quorum queues (3.10 takes it as ``drop-head`` without a word). Dropped messages
    are not dead-lettered (``consumer_queue_arguments``); the dead-letter queues are capped all
    the same, against a flood of poison messages. The archive has its own retention. No policy
    sets an overflow for the retry queues: their at-least-once dead-lettering needs their own
    ``reject-publish``.
    """
    unbounded = "|".join(sorted(re.escape(name) for name in UNBOUNDED_CONSUMERS))
    uncapped = "|".join(sorted(re.escape(name) for name in UNBOUNDED_CONSUMERS | {ARCHIVE, BEHAVIOUR}))
    bounded_dead = rf"^slack\.(?!({unbounded})\.dead$)[a-z0-9_-]+\.dead$"
    return [
        _policy(vhost, "slack-bounded-consumers", rf"^slack\.(?!({uncapped})$)[a-z0-9_-]+$", 1,
                {"max-length": max_length, "overflow": "drop-head",
                 "message-ttl": BOUNDED_QUEUE_MESSAGE_TTL_MS, **PLACEMENT}),
        _policy(vhost, "slack-bounded-dead-letters", bounded_dead, 1,
                {"max-length": BOUNDED_DEAD_LETTER_MAX_LENGTH, "overflow": "drop-head", **PLACEMENT}),
        _policy(vhost, "slack-placement", r"^slack\.", 0, dict(PLACEMENT)),
    ]  # fmt: skip


def _policy(vhost: str, name: str, pattern: str, priority: int, definition: dict[str, Any]) -> dict[str, Any]:
    return {"vhost": vhost, "name": name, "pattern": pattern, "apply-to": "queues", "priority": priority,
            "definition": definition}  # fmt: skip


def definitions(
    consumers: tuple[str, ...] = CONSUMERS, vhost: str = "/", archive: bool = True
) -> dict[str, Any]:
    """The broker objects above in RabbitMQ's definitions format (``rabbitmq/definitions.json``).

    The archive and behaviour streams are included unless ``archive`` is false: streams need
    RabbitMQ 3.9 or later.
    """
    queues = (
        [_queue(ARCHIVE_QUEUE, vhost, archive_queue_arguments()),
         _queue(BEHAVIOUR_STREAM, vhost, behaviour_stream_arguments())]
        if archive else []
    )  # fmt: skip
    destinations = [*(consumer_queue(name) for name in consumers), *([ARCHIVE_QUEUE] if archive else [])]
    exchanges = [_exchange(INBOUND_EXCHANGE, vhost, "fanout"), _exchange(BEHAVIOUR_EXCHANGE, vhost, "fanout")]
    bindings = [_binding(INBOUND_EXCHANGE, vhost, destination, "") for destination in destinations]
    if archive:
        bindings.append(_binding(BEHAVIOUR_EXCHANGE, vhost, BEHAVIOUR_STREAM, ""))
    for name in consumers:
        queues.append(_queue(dead_letter_queue(name), vhost, dead_letter_queue_arguments()))
        queues.append(_queue(consumer_queue(name), vhost, consumer_queue_arguments(name)))
        queues.extend(
            _queue(retry_queue(name, delay), vhost, retry_queue_arguments(name, delay))
            for delay in sorted(set(RETRY_DELAYS_MS))
        )
        exchanges.append(_exchange(retry_exchange(name), vhost, "direct"))
        parked = parking_queues(name, RETRY_DELAYS_MS)
        bindings.extend(_binding(retry_exchange(name), vhost, queue, queue) for queue in parked)
    return {"vhosts": [{"name": vhost}], "exchanges": exchanges, "queues": queues, "bindings": bindings,
            "policies": bounding_policies(vhost)}  # fmt: skip


def parking_queues(name: str, delays_ms: tuple[int, ...]) -> list[str]:
    """The queues bound to ``retry_exchange(name)``, each under its own name: retry queues, dead letters,
    and the consumer's own queue, where a retry copy goes back when its wait is over."""
    return [*retry_queues(name, delays_ms), dead_letter_queue(name), consumer_queue(name)]


def _queue(name: str, vhost: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": arguments}


def _exchange(name: str, vhost: str, exchange_type: str) -> dict[str, Any]:
    return {"name": name, "vhost": vhost, "type": exchange_type, "durable": True, "auto_delete": False,
            "internal": False, "arguments": {}}  # fmt: skip


def _binding(source: str, vhost: str, queue: str, routing_key: str) -> dict[str, Any]:
    return {"source": source, "vhost": vhost, "destination": queue, "destination_type": "queue",
            "routing_key": routing_key, "arguments": {}}  # fmt: skip


@dataclass(frozen=True)
class BrokerUser:
    """A broker user and the regular expressions of the resources it may configure, write and read."""

    role: str
    name: str
    tags: tuple[str, ...]
    configure: str
    write: str
    read: str

    def permission(self, vhost: str) -> dict[str, str]:
        return {"user": self.name, "vhost": vhost, "configure": self.configure, "write": self.write,
                "read": self.read}  # fmt: skip


def broker_users(consumers: tuple[str, ...] = CONSUMERS, prefix: str = "") -> list[BrokerUser]:
    """One user per app, each allowed only what that app does (docs/operations.md, "Broker users").

    The gateway publishes to the exchange and consumes direct reply-to, which needs no
    permission. ``prefix`` keeps the names apart when several deployments share one broker.
    """
    exchange = re.escape(INBOUND_EXCHANGE)
    return [
        BrokerUser(ADMIN_USER, prefix + ADMIN_USER, ("administrator",), ".*", ".*", ".*"),
        BrokerUser(GATEWAY_USER, prefix + GATEWAY_USER, (), "^$", f"^{exchange}$", "^$"),
        *(consumer_user(name, prefix) for name in consumers),
    ]


def consumer_user(name: str, prefix: str = "") -> BrokerUser:
    """Any consumer's user, whether or not the deployment lists it in ``CONSUMERS``.

    It configures, writes and reads only names of its own, ``slack.<name>`` and below (its
    queues, and its retry exchange ``slack.<name>.retry``); it also reads (binds from)
    ``slack.inbound`` and writes ``slack.behaviour``. So it can never publish into another
    consumer's queue. A consumer in ``REPLYING_CONSUMERS`` may also write the default exchange,
    the residual right direct reply-to needs.
    """
    own = rf"{re.escape(consumer_queue(name))}(\..*)?"
    writes = [own, re.escape(BEHAVIOUR_EXCHANGE), *([r"amq\.default"] if name in REPLYING_CONSUMERS else [])]
    reads = [own, re.escape(INBOUND_EXCHANGE)]
    return BrokerUser(
        name, prefix + name, (), f"^{own}$", f"^({'|'.join(writes)})$", f"^({'|'.join(reads)})$"
    )


def permissions(
    consumers: tuple[str, ...] = CONSUMERS, vhost: str = "/", prefix: str = ""
) -> list[dict[str, str]]:
    """``broker_users``' permissions in RabbitMQ's definitions format."""
    return [user.permission(vhost) for user in broker_users(consumers, prefix)]


if __name__ == "__main__":
    import json

    print(json.dumps(definitions(), indent=2))
