"""The verdict as text for a terminal and as JSON for a pipeline."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from verdict.report import EndpointVerdict, FieldVerdict, Timing, Verdict

VALUE_WIDTH = 60
"""A sample value is cut to this many characters in the terminal."""


def render_json(verdict: Verdict) -> str:
    return json.dumps(dataclasses.asdict(verdict), indent=2, default=str)


def render_text(verdict: Verdict) -> str:
    lines = [_headline(verdict), totals(verdict), _thresholds(verdict), ""]
    lines.extend(_endpoint_table(verdict.endpoints))
    for endpoint in verdict.endpoints:
        if endpoint.fields:
            lines.extend(["", *_field_table(endpoint)])
    return "\n".join(lines) + "\n"


def short(value: Any, width: int = VALUE_WIDTH) -> str:
    """A value as compact JSON, cut to ``width`` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def timing(value: Timing) -> str:
    if value.p50 is None or value.p99 is None:
        return "-"
    return f"{value.p50:g} / {value.p99:g}"


def _headline(verdict: Verdict) -> str:
    noise = f", noise from {verdict.secondary!r}" if verdict.secondary else ", no secondary"
    return f"verdict: {verdict.status.upper()}: {verdict.candidate!r} against {verdict.primary!r}{noise}"


def totals(verdict: Verdict) -> str:
    """One line: requests by category, and the records left aside."""
    records = verdict.records
    extra = [f"{records[key]} {key}" for key in ("unreadable", "late", "pending") if records.get(key)]
    return (
        f"{verdict.joined} requests joined: {verdict.matched} matched, {verdict.differing} differing, "
        f"{verdict.missing} missing, {verdict.failed} failed, {verdict.escapes} escapes"
        + (f" ({', '.join(extra)} records)" if extra else "")
    )


def _thresholds(verdict: Verdict) -> str:
    t = verdict.thresholds
    return f"thresholds: relative {t.relative:g}%, absolute {t.absolute:g}%, missing {t.missing:g}%"


def _endpoint_table(endpoints: list[EndpointVerdict]) -> list[str]:
    header = ["endpoint", "joined", "matched", "differing", "missing", "failed", "escapes", "match",
              "primary p50/p99 ms", "candidate p50/p99 ms"]  # fmt: skip
    rows = [
        [
            e.endpoint, str(e.joined), str(e.matched), str(e.differing), str(e.missing), str(e.failed),
            str(e.escapes), "-" if e.match_rate is None else f"{e.match_rate:g}%",
            timing(e.handling_ms["primary"]) if "primary" in e.handling_ms else "-",
            timing(e.handling_ms["candidate"]) if "candidate" in e.handling_ms else "-",
        ]
        for e in endpoints
    ]  # fmt: skip
    return _columns([header, *rows]) if rows else ["no requests joined"]


def _field_table(endpoint: EndpointVerdict) -> list[str]:
    lines = [f"{endpoint.endpoint}: fields that differ ('!' = significant, else noise or too rare)"]
    rows = [["", "field", "raw", "noise", "rel %", "abs %"]]
    rows.extend(_field_row(f) for f in endpoint.fields)
    table = _columns(rows, left=2)
    lines.append("  " + table[0])
    for f, line in zip(endpoint.fields, table[1:], strict=True):
        lines.append("  " + line)
        if f.significant:
            lines.extend(
                f"        {s.envelope_id[:12]}  primary {_value(s.primary, s.change != 'added')}"
                f"  candidate {_value(s.candidate, s.change != 'removed')}"
                for s in f.samples[:1]
            )
    return lines


def _value(value: Any, present: bool) -> str:
    return short(value) if present else "(none)"


def _field_row(f: FieldVerdict) -> list[str]:
    return [
        "!" if f.significant else " ",
        f.path,
        str(f.raw),
        str(f.noise),
        f"{f.relative:g}",
        f"{f.absolute:g}",
    ]


def _columns(rows: list[list[str]], left: int = 1) -> list[str]:
    """Left-align the first ``left`` columns (names), right-align the others (numbers)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
