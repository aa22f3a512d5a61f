"""``slack-fanout status``: each consumer's queue at a glance, and an exit code for health checks.

Reads the RabbitMQ management API (RABBITMQ_MANAGEMENT_URL, _USER, _PASSWORD, RABBITMQ_VHOST).
Exits 0 when every consumer queue has a consumer and is below 90 % of its bound, 1 when one
does not (usable from cron or a container health check); the other codes as every command
(docs/cli.md). Also ``python -m slack_fanout.status``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from slack_fanout.exit_codes import ExitCode
from slack_fanout.management import ManagementApi, ManagementError, ManagementSettings, quote, refusal
from slack_fanout.settings import ConfigError, load_settings
from slack_fanout.topology import ARCHIVE_QUEUE, BEHAVIOUR_STREAM, dead_letter_queue

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
    """One status per ``slack.<name>`` consumer queue (not the archive or the behaviour records), with the
    depth of its ``slack.<name>.dead``."""
    by_name = {queue["name"]: queue for queue in queues}
    statuses = []
    for name, queue in sorted(by_name.items()):
        consumer = name.removeprefix("slack.")
        if not name.startswith("slack.") or "." in consumer or name in (ARCHIVE_QUEUE, BEHAVIOUR_STREAM):
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


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="slack-fanout status", description=__doc__.split("\n\n")[1]).parse_args(argv)
    vhost = "/"
    try:
        settings = load_settings(ManagementSettings)
        vhost = settings.rabbitmq_vhost
        queues = ManagementApi.from_settings(settings).get(f"queues/{quote(vhost)}")
    except (ConfigError, ManagementError) as error:
        return refusal("status", error, vhost)
    statuses = consumer_queues(queues)
    print(render(statuses))
    if not statuses:
        print("no consumer queue (slack.<name>) in this vhost", file=sys.stderr)
        return ExitCode.DIFFERS
    return ExitCode.DIFFERS if any(s.problems for s in statuses) else ExitCode.OK


def _rate(stats: dict[str, Any], name: str) -> float:
    return float(stats.get(f"{name}_details", {}).get("rate", 0.0))


if __name__ == "__main__":
    sys.exit(main())
