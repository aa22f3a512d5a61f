"""Prometheus metrics of a running comparison, drawn from its verdict at each scrape.

A field can turn significant as counts grow, moving requests from matched to differing,
so request counts are gauges; escapes and records only grow, so they are counters.
Served on ``--metrics-port`` and on the page's ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from verdict.report import Status
from verdict.session import Session

CATEGORIES = ("matched", "differing", "missing", "failed")


class VerdictCollector(Collector):
    def __init__(self, session: Session) -> None:
        self._session = session

    def collect(self) -> Iterator[Metric]:
        verdict = self._session.verdict()
        requests = GaugeMetricFamily(
            "slack_fanout_verdict_requests",
            "Joined requests by category: matched, differing, missing, failed.",
            labels=["endpoint", "category"],
        )
        match_ratio = GaugeMetricFamily(
            "slack_fanout_verdict_match_ratio",
            "Matched / (matched + differing) requests, 0 to 1.",
            labels=["endpoint"],
        )
        fields = GaugeMetricFamily(
            "slack_fanout_verdict_differing_fields",
            "Fields whose differences are significant (not noise).",
            labels=["endpoint"],
        )
        escapes = CounterMetricFamily(
            "slack_fanout_verdict_escapes",
            "Connections to Slack the candidate opened outside the capture.",
            labels=["endpoint"],
        )
        for endpoint in verdict.endpoints:
            for category in CATEGORIES:
                requests.add_metric([endpoint.endpoint, category], getattr(endpoint, category))
            if endpoint.match_rate is not None:
                match_ratio.add_metric([endpoint.endpoint], endpoint.match_rate / 100)
            fields.add_metric([endpoint.endpoint], sum(f.significant for f in endpoint.fields))
            escapes.add_metric([endpoint.endpoint], endpoint.escapes)
        status = GaugeMetricFamily(
            "slack_fanout_verdict_status",
            "1 for the verdict's current status, 0 for the others.",
            labels=["status"],
        )
        for value in Status:
            status.add_metric([value.value], float(verdict.status is value))
        records = CounterMetricFamily(
            "slack_fanout_verdict_records",
            "Behaviour records read, by what became of them.",
            labels=["state"],
        )
        for state in ("read", "unreadable", "late"):
            records.add_metric([state], verdict.records.get(state, 0))
        yield from (requests, match_ratio, fields, escapes, status, records)


def verdict_registry(session: Session) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VerdictCollector(session))
    return registry


@contextmanager
def serve_metrics(session: Session, host: str, port: int) -> Iterator[None]:
    server, thread = start_http_server(port, addr=host, registry=verdict_registry(session))
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
