"""The Socket Mode ingress's own Prometheus metrics, beside the gateway's publishing ones.

The ingress publishes with the gateway's publisher, so ``slack_fanout_gateway_published_total``,
``…_publish_failures_total``, ``…_publish_seconds`` and ``…_replies_total`` count its envelopes
too; the metrics here are what only a WebSocket ingress has.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ENVELOPES = Counter(
    "slack_fanout_socket_envelopes_total",
    "Socket Mode envelopes by type and outcome: acked (published, then acknowledged), "
    "not_published (the broker did not confirm: not acknowledged, so Slack redelivers), "
    "refused (not a request we can read: acknowledged, published nowhere), ack_failed (published, "
    "but the connection was gone: Slack redelivers, consumers drop the copy), shutting_down "
    "(arrived while stopping: left to Slack to redeliver). Types other than events_api, "
    "slash_commands and interactive count as other.",
    ["type", "outcome"],
)
ACK_SECONDS = Histogram(
    "slack_fanout_socket_ack_seconds",
    "From an envelope's arrival to its acknowledgement (Slack waits 3 s).",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 3),
)
RECONNECTS = Counter(
    "slack_fanout_socket_reconnects_total",
    "Connections opened after the first, by reason: refresh_requested, warning, too_many_websockets "
    "(Slack's disconnect messages) or lost (closed, dead or never opened).",
    ["reason"],
)
CONNECTIONS = Gauge("slack_fanout_socket_connections", "Socket Mode connections open and greeted (hello).")
