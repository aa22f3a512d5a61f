"""A consumer's Prometheus metrics, served on ``CONSUMER_METRICS_PORT`` when it is set."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

MESSAGES = Counter(
    "slack_fanout_consumer_messages_total",
    "Messages by what became of them: handled, failed (the handler raised), refused (a permanent "
    "failure), retried (parked for a later retry), dead_lettered, duplicate (already handled: "
    "skipped), not_an_envelope, delivery_limit (delivered unsettled too often: set aside).",
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
    "A replying consumer's answers: in_time (returned in the HTTP response), "
    "late_response_url and late_chat.postMessage (delivered after the deadline), late_empty "
    "(nothing to show), late_dropped (no route, or the route refused it); not_awaited_* the "
    "same for answers to requests no gateway waited for (reply passthrough off).",
    ["consumer", "outcome"],
)
REPLY_SECONDS = Histogram(
    "slack_fanout_consumer_reply_seconds",
    "From the gateway receiving the request to an in-time answer leaving the consumer.",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3),
)

SLACK_CALLS = Counter(
    "slack_fanout_consumer_slack_calls_total",
    "Slack calls the capture saw, by target (web_api, webhook, upload) and mode (sent, suppressed: a "
    "shadow's, answered with a fake; passed_through: a shadow's allowlisted read-only call).",
    ["consumer", "target", "mode"],
)
ESCAPES = Counter(
    "slack_fanout_consumer_escapes_total",
    "Connections to Slack a shadow made outside the capture (its own HTTP client): refused. Any is a "
    "failure of the candidate.",
    ["consumer"],
)
UNATTRIBUTED_CALLS = Counter(
    "slack_fanout_consumer_unattributed_slack_calls_total",
    "Slack calls no behaviour record holds, by reason: startup (before the first request: Bolt's "
    "auth.test), outside_a_request (a thread no request started), after_settle (work that outlived "
    "CONSUMER_SETTLE_TIMEOUT_SECONDS). Each is also logged.",
    ["consumer", "reason"],
)
RECORDS = Counter(
    "slack_fanout_consumer_behaviour_records_total",
    "Behaviour records by what became of them: published (confirmed by the broker), refused (nacked), "
    "unroutable (no stream bound to slack.behaviour), lost (no confirm in time), unsettled (built while "
    "work the handler started still ran).",
    ["consumer", "result"],
)
RECORD_FAILURES = Counter(
    "slack_fanout_consumer_record_failures_total",
    "Failures to record (a call, or a whole record): counted and logged at DEBUG, never a failure "
    "of the message.",
    ["consumer", "what"],
)


def serve(port: int) -> None:
    start_http_server(port)
