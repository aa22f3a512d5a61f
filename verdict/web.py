"""The verdict as a web page, served by the comparer itself (``--serve PORT``).

``/`` is the overview: the verdict, a table per endpoint, and the fields that differ with
links to sample requests. ``/sample/<envelope id>`` shows one request side by side: the
redacted inbound request, both call timelines, and the field-by-field diff of the
normalized arguments and answers. ``/verdict.json`` and ``/metrics`` serve the same
verdict to programs. Everything is inline: the page loads nothing from anywhere else.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, abort, render_template
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.serving import make_server

from slack_fanout.behaviour import BehaviourRecord
from verdict.compare import Comparison
from verdict.metrics import verdict_registry
from verdict.output import render_json, short, timing
from verdict.report import EndpointVerdict
from verdict.session import Sample, Session

REFRESH_S = 5
"""While following the stream, the overview reloads itself this often."""
_SECRETS = re.compile(r"xox[a-z]-[A-Za-z0-9-]+|(hooks\.slack\.com/(?:commands|actions|services)/)[^\s\"']+")


def create_app(session: Session, live: bool = False) -> Flask:
    app = Flask(__name__)
    app.jinja_env.filters.update(pretty=pretty, short=short, timing=timing)
    registry = verdict_registry(session)

    @app.get("/")
    def overview() -> str:
        verdict = session.verdict()
        first = {e.endpoint: _first_sample(session, e) for e in verdict.endpoints}
        return render_template(
            "overview.html", verdict=verdict, first=first, refresh=REFRESH_S if live else None
        )

    @app.get("/sample/<envelope_id>")
    def sample(envelope_id: str) -> str:
        kept = session.sample(envelope_id)
        if kept is None:
            abort(404)
        verdict = session.verdict()
        endpoint = next(e for e in verdict.endpoints if e.endpoint == kept.joined.endpoint)
        return render_template("sample.html", verdict=verdict, view=sample_view(kept, endpoint))

    @app.get("/verdict.json")
    def verdict_json() -> Response:
        return Response(render_json(session.verdict()), mimetype="application/json")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return app


@contextmanager
def serve_page(session: Session, host: str, port: int, live: bool) -> Iterator[str]:
    """Serve the page from a thread; yields its URL."""
    server = make_server(host, port, create_app(session, live), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="verdict-page", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}/"
    finally:
        server.shutdown()
        thread.join()


def sample_view(sample: Sample, endpoint: EndpointVerdict) -> dict[str, Any]:
    """What the sample page shows, shaped for the template."""
    joined = sample.joined
    significant = {f.path for f in endpoint.fields if f.significant}
    inbound = next((r.inbound for r in (joined.primary, joined.candidate, joined.secondary) if r), {})
    return {
        "envelope_id": joined.envelope_id,
        "endpoint": joined.endpoint,
        "received_at": joined.received_at,
        "category": _category(sample, significant),
        "inbound": redact(pretty(inbound)),
        "timelines": [_side("primary", joined.primary), _side("candidate", joined.candidate)],
        "sections": _sections(sample.comparison, significant),
        "noise": sorted(sample.noise.fields) if sample.noise is not None else None,
    }


def _side(side: str, record: BehaviourRecord | None) -> dict[str, Any]:
    if record is None:
        return {"side": side, "record": None, "calls": []}
    answer = record.answer
    return {
        "side": side,
        "record": record,
        "answer": f"{answer.status} {answer.content_type or ''} {short(answer.body, 120)}"
        if answer
        else "none",
        "calls": _timeline(record),
    }


def _timeline(record: BehaviourRecord) -> list[dict[str, Any]]:
    return [
        {
            "offset": f"{call.offset_ms:.1f}",
            "method": call.method,
            "target": call.target.value,
            "mode": call.mode.value,
            "status": call.status,
            "duration": f"{call.duration_ms:.1f}",
            "arguments": redact(short(call.arguments, 160)),
            "response": redact(short(call.response, 160)) if call.response is not None else "",
            "error": call.error,
        }
        for call in record.calls
    ]


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def redact(text: str) -> str:
    """Belt and braces: records come redacted, but a token or a response_url never reaches the page."""
    return _SECRETS.sub(lambda match: f"{match[1]}…" if match[1] else "xox…-redacted", text)


def _category(sample: Sample, significant: set[str]) -> str:
    if sample.comparison is None:
        return "missing"
    if any(record is not None and record.outcome.value in ("failed", "dead_lettered")
           for record in (sample.joined.primary, sample.joined.candidate)):  # fmt: skip
        return "failed"
    return "differing" if sample.comparison.fields & significant else "matched"


def _sections(comparison: Comparison | None, significant: set[str]) -> list[dict[str, Any]]:
    if comparison is None:
        return []
    return [
        {
            "title": section.title,
            "rows": [
                {
                    "path": row.path,
                    "primary": redact(pretty(row.primary)) if row.change != "added" else "",
                    "candidate": redact(pretty(row.other)) if row.change != "removed" else "",
                    "change": row.change or "same",
                    "note": "ignored"
                    if row.ignored
                    else ("significant" if row.path in significant else "noise")
                    if row.change
                    else "",
                }
                for row in section.rows
            ],
            "differs": any(row.change for row in section.rows),
        }
        for section in comparison.sections
    ]


def _first_sample(session: Session, endpoint: EndpointVerdict) -> str | None:
    """The request the overview links to: one of the first significant field's, else any kept."""
    for field in endpoint.fields:
        if field.significant and field.samples:
            return field.samples[0].envelope_id
    kept = session.samples(endpoint.endpoint)
    return kept[0].joined.envelope_id if kept else None
