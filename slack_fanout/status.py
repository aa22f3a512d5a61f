"""``python -m slack_fanout.status``: each consumer's queue at a glance, and an exit code for health checks.

Reads the RabbitMQ management API. Exit 0 when every consumer queue has a consumer and is
below 90 % of its bound; 1 when one does not (usable from cron or a container health
check); 2 when the management API cannot be read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from slack_fanout.management import ManagementApi, ManagementError, ManagementSettings, quote
from slack_fanout.settings import ConfigError, load_settings
from slack_fanout.topology import ARCHIVE_QUEUE, dead_letter_queue

RET_OK, RET_ATTENTION, RET_UNREACHABLE = 0, 1, 2
NEAR_BOUND = 0.9


@dataclass(frozen=True)
class QueueStatus:
    consumer: str
    messages: int
    unacked: int
    consumers: int
    publish_rate: float
    deliver_rate: float
    ack_rate: float
    dead_letters: int
    bound: int | None

    @property
    def problems(self) -> list[str]:
        found = []
        if self.consumers == 0:
            found.append("no consumer")
        if self.bound and self.messages >= NEAR_BOUND * self.bound:
            found.append(
                f"at {self.messages / self.bound:.0%} of its bound: oldest messages are being dropped"
            )
        return found


def consumer_queues(queues: list[dict[str, Any]]) -> list[QueueStatus]:
    """One status per ``slack.<name>`` queue but the archive, with the depth of its ``slack.<name>.dead``."""
    by_name = {queue["name"]: queue for queue in queues}
    statuses = []
    for name, queue in sorted(by_name.items()):
        consumer = name.removeprefix("slack.")
        if not name.startswith("slack.") or "." in consumer or name == ARCHIVE_QUEUE:
            continue
        stats = queue.get("message_stats", {})
        statuses.append(
            QueueStatus(
                consumer=consumer,
                messages=queue.get("messages", 0),
                unacked=queue.get("messages_unacknowledged", 0),
                consumers=queue.get("consumers", 0),
                publish_rate=_rate(stats, "publish"),
                deliver_rate=_rate(stats, "deliver_get"),
                ack_rate=_rate(stats, "ack"),
                dead_letters=by_name.get(dead_letter_queue(consumer), {}).get("messages", 0),
                bound=(queue.get("effective_policy_definition") or {}).get("max-length"),
            )
        )
    return statuses


def render(statuses: list[QueueStatus]) -> str:
    header = f"{'consumer':<16}{'messages':>10}{'unacked':>9}{'consumers':>10}{'in/s':>8}{'out/s':>8}" \
             f"{'ack/s':>8}{'dead':>7}{'bound':>9}  status"  # fmt: skip
    rows = [header]
    for s in statuses:
        bound = str(s.bound) if s.bound else "-"
        rows.append(
            f"{s.consumer:<16}{s.messages:>10}{s.unacked:>9}{s.consumers:>10}{s.publish_rate:>8.1f}"
            f"{s.deliver_rate:>8.1f}{s.ack_rate:>8.1f}{s.dead_letters:>7}{bound:>9}  "
            f"{'; '.join(s.problems) or 'ok'}"
        )
    return "\n".join(rows)


def main() -> int:
    try:
        settings = load_settings(ManagementSettings)
        queues = ManagementApi.from_settings(settings).get(f"queues/{quote(settings.rabbitmq_vhost)}")
    except (ConfigError, ManagementError) as error:
        print(f"slack-fanout status: cannot read the management API: {error}", file=sys.stderr)
        return RET_UNREACHABLE
    statuses = consumer_queues(queues)
    print(render(statuses))
    if not statuses:
        print("no consumer queue (slack.<name>) in this vhost", file=sys.stderr)
        return RET_ATTENTION
    return RET_ATTENTION if any(s.problems for s in statuses) else RET_OK


def _rate(stats: dict[str, Any], name: str) -> float:
    return float(stats.get(f"{name}_details", {}).get("rate", 0.0))


if __name__ == "__main__":
    sys.exit(main())
