"""A consumer's Prometheus metrics, served on ``CONSUMER_METRICS_PORT`` when it is set."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

MESSAGES = Counter(
    "slack_fanout_consumer_messages_total",
    "Messages by what became of them: handled, failed (the handler raised), refused (a permanent "
    "failure), retried (parked for a later retry), dead_lettered, duplicate (already handled: "
    "skipped), not_an_envelope.",
    ["consumer", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "slack_fanout_consumer_handler_seconds",
    "Time the handler took, successful or not.",
    ["consumer"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

REPLIES = Counter(
    "slack_fanout_consumer_replies_total",
    "Answers to requests the gateway waited for: in_time (returned in the HTTP response), "
    "late_response_url and late_chat.postMessage (delivered after the deadline), late_empty "
    "(nothing to show), late_dropped (no route, or the route refused it).",
    ["consumer", "outcome"],
)
REPLY_SECONDS = Histogram(
    "slack_fanout_consumer_reply_seconds",
    "From the gateway receiving the request to an in-time answer leaving the consumer.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3),
)


def serve(port: int) -> None:
    start_http_server(port)
