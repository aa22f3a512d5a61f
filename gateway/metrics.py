"""The gateway's Prometheus metrics, served at ``/metrics``.

Under gunicorn every worker is a process of its own, so the metrics live in files shared
through ``PROMETHEUS_MULTIPROC_DIR`` (set by ``gateway/gunicorn.conf.py``) and ``/metrics``
adds up all the workers' values, whichever worker answers.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "slack_fanout_gateway_requests_total",
    "Slack requests answered, by request kind and HTTP status.",
    ["kind", "status"],
)
PUBLISHED = Counter("slack_fanout_gateway_published_total", "Envelopes the broker confirmed.")
PUBLISH_FAILURES = Counter(
    "slack_fanout_gateway_publish_failures_total",
    "Publishes answered 503, by reason (nack, unroutable, confirm timeout, unreachable, ...).",
    ["reason"],
)
PUBLISH_SECONDS = Histogram(
    "slack_fanout_gateway_publish_seconds",
    "From handing the envelope to the publisher to the broker's confirm.",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 3),
)
REPLIES = Counter(
    "slack_fanout_gateway_replies_total",
    "Requests that waited for a synchronous answer, by outcome (gateway.replies.ReplyOutcome): "
    "in_time, none (deadline passed), too_large, unusable (Socket Mode: no JSON), late (an answer "
    "after its deadline, dropped here), not_awaited (the primary had answered nothing lately: the "
    "request did not wait).",
    ["outcome"],
)
REPLY_SECONDS = Histogram(
    "slack_fanout_gateway_reply_seconds",
    "From the request's arrival to the answer returned to Slack.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3),
)
IN_FLIGHT = Gauge(
    "slack_fanout_gateway_publishes_in_flight",
    "Publishes awaiting their confirm.",
    multiprocess_mode="livesum",
)


def exposition() -> tuple[bytes, str]:
    """The text format, summed over every worker when running under gunicorn."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_gone(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters keep counting in the sum)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(pid)
