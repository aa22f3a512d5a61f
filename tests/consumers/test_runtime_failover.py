"""With several broker nodes in AMQP_URL, a consumer resumes on the next node when its node dies,
and the message it had in hand is delivered again there, not lost (nor handled twice). A node
that lets the consumer in and then answers nothing keeps it waiting no longer than
``ANSWER_TIMEOUT_S``, and a stop requested meanwhile not at all.

Each "node" is a TCP proxy to the test broker, so a node can die while the broker runs on.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from slack_fanout.answer_deadline import ANSWER_TIMEOUT_S
from tests.consumers.test_runtime import NAME, RETRYING, consumer, envelope, handled, logged
from tests.support.broker import Broker, VirtualHost, publish
from tests.support.tcp_proxy import TcpProxy


def test_a_consumer_whose_node_dies_resumes_on_the_next_and_gets_its_message_again(
    broker: Broker, vhost: VirtualHost, nodes: list[TcpProxy], tmp_path: Path
) -> None:
    urls = ",".join(broker.amqp_url(vhost.name, port=node.port) for node in nodes)
    with consumer(urls, tmp_path, TEST_SLEEP_SECONDS="1") as process:
        first = process.wait_for_log("consuming", consumer=NAME)
        assert first["node"] == f"{broker.host}:{nodes[0].port}"
        publish(vhost, envelope("in hand"))
        process.wait_for_log("handler started", text="in hand")
        nodes[0].close()
        process.wait_for(lambda: len(logged(process, "consuming")) == 2, "consuming on the next node", 30)
        assert logged(process, "consuming")[1]["node"] == f"{broker.host}:{nodes[1].port}"
        process.wait_for(lambda: handled(tmp_path) == ["in hand"], "the message handled")
        process.wait_for(lambda: vhost.queue_depth("slack.audit") == 0, "nothing left in the queue")
        publish(vhost, envelope("after"))
        process.wait_for(lambda: handled(tmp_path) == ["in hand", "after"], "the next message handled")
    # Its acknowledgement died with the node: the broker delivered it again, and the ledger knew it.
    assert len(logged(process, "duplicate skipped: already handled")) == 1


def test_a_consumer_whose_node_lets_it_in_and_answers_nothing_moves_on_to_the_next(
    broker: Broker, vhost: VirtualHost, nodes: list[TcpProxy], tmp_path: Path
) -> None:
    frozen = nodes[0].freeze_once_open()
    urls = ",".join(broker.amqp_url(vhost.name, port=node.port) for node in nodes)
    with consumer(urls, tmp_path) as process:
        consuming = process.wait_for_log("consuming", timeout=ANSWER_TIMEOUT_S + 15, consumer=NAME)
        assert frozen.is_set()
        assert consuming["node"] == f"{broker.host}:{nodes[1].port}"
        publish(vhost, envelope("after"))
        process.wait_for(lambda: handled(tmp_path) == ["after"], "the message handled on the next node")
    [retry] = logged(process, RETRYING)
    assert retry["error"] == f"NoAnswer: the broker did not answer within {ANSWER_TIMEOUT_S:g} s"


def test_sigterm_stops_a_consumer_at_once_while_its_node_answers_nothing(
    broker: Broker, vhost: VirtualHost, nodes: list[TcpProxy], tmp_path: Path
) -> None:
    frozen = nodes[0].freeze_once_open()
    with consumer(broker.amqp_url(vhost.name, port=nodes[0].port), tmp_path) as process:
        assert frozen.wait(15), "the consumer never connected"
        process.signal(signal.SIGTERM)
        stopping = time.monotonic()
        assert process.popen.wait(ANSWER_TIMEOUT_S / 2) == 0
        assert time.monotonic() - stopping < 2
    assert logged(process, "stopped")
