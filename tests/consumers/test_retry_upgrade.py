"""A broker that still has the classic retry queues of earlier versions: the consumer starts, uses its
quorum retry queues, and tells the operator which old queue to delete once empty."""

from __future__ import annotations

from pathlib import Path

from slack_fanout import topology
from tests.consumers.test_runtime import NAME, consuming, envelope, handled
from tests.support.broker import VirtualHost, publish

OLD_ARGUMENTS = {
    "x-queue-type": "classic",
    "x-message-ttl": 1000,
    "x-dead-letter-exchange": "",
    "x-dead-letter-routing-key": topology.consumer_queue(NAME),
}


def test_a_consumer_starts_beside_the_old_classic_retry_queues_and_names_them(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    old = topology.legacy_retry_queue(NAME, 1000)
    with vhost.channel() as channel:
        channel.queue_declare(old, durable=True, arguments=OLD_ARGUMENTS)
    with consuming(vhost, tmp_path, TEST_FAIL_ON="once", CONSUMER_RETRY_DELAYS_MS="[1000]") as process:
        warning = process.wait_for_log("legacy retry queue found: delete it once empty")
        assert (warning["queue"], warning["messages"]) == (old, 0)
        publish(vhost, envelope("once"))
        process.wait_for(lambda: vhost.queue_depth(topology.dead_letter_queue(NAME)) == 1, "dead-lettered")
        publish(vhost, envelope("fine"))
        process.wait_for(lambda: handled(tmp_path) == ["fine"], "handled")
    assert vhost.queue_depth(old) == 0  # nothing goes to the old queue any more
