"""The comparer's Prometheus metrics, drawn from the verdict at each scrape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest

from testbed.records import modified_candidate, records
from verdict.join import Roles
from verdict.metrics import verdict_registry
from verdict.rules import Rules
from verdict.session import Session


def test_the_metrics_show_match_ratio_requests_differing_fields_escapes_and_status() -> None:
    session = Session(Roles("primary", "shadow", "shadow-control"), Rules(), timedelta(seconds=60))
    registry = verdict_registry(session)
    for record in records(modified_candidate, 4):
        session.feed(record.encode())
    session.expire(datetime.now(UTC))

    lines = set(generate_latest(registry).decode().splitlines())

    assert {
        'slack_fanout_verdict_match_ratio{endpoint="command:/deploy"} 0.0',
        'slack_fanout_verdict_requests{category="differing",endpoint="event:app_mention"} 4.0',
        'slack_fanout_verdict_differing_fields{endpoint="event:app_mention"} 2.0',
        'slack_fanout_verdict_escapes_total{endpoint="event:app_mention"} 0.0',
        'slack_fanout_verdict_status{status="differs"} 1.0',
        'slack_fanout_verdict_status{status="safe"} 0.0',
        'slack_fanout_verdict_records_total{state="read"} 24.0',
    } <= lines
