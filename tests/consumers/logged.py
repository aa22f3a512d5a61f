"""Captured log records as the apps would write them, for asserting on what was (never) logged."""

from __future__ import annotations

import pytest

from slack_fanout.logs import JsonFormatter


def json_lines(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as its JSON line, extra fields included (``caplog.text`` leaves them out)."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)
