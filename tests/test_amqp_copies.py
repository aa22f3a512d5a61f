"""A copy of a message (a retry, a dead letter, a replay): the original's labels, never its reply address."""

from __future__ import annotations

import pika

from slack_fanout.amqp import persistent_copy


def test_a_copy_keeps_the_labels_takes_its_own_headers_and_is_persistent() -> None:
    original = pika.BasicProperties(
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Transient,
        message_id="e-1",
        timestamp=1_700_000_000,
        type="slash_command",
        app_id="slack-fanout-gateway",
        headers={"x-first": 1},
        reply_to="amq.rabbitmq.reply-to.g1h2",
        correlation_id="e-1",
    )
    copy = persistent_copy(original, {"x-slack-fanout-retries": 1})

    labels = ("content_type", "message_id", "timestamp", "type", "app_id")
    assert {name: getattr(copy, name) for name in labels} == {
        name: getattr(original, name) for name in labels
    }
    assert copy.delivery_mode == pika.DeliveryMode.Persistent.value
    assert copy.headers == {"x-slack-fanout-retries": 1}
    assert copy.reply_to is None and copy.correlation_id is None, (
        "the waiting gateway was the first delivery's"
    )
