"""Captured log records as the apps would write them, for asserting on what was (never) logged.

``captured`` finds the records of one message; ``fields`` reads what a record carries, the
``extra=`` fields its log call passed included; ``json_lines`` renders records as the apps' JSON lines.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest

from slack_fanout.logs import JsonFormatter


def captured(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    """Every captured record of ``message``, oldest first: ``[handled] = captured(caplog, "handled")``
    says it was logged exactly once."""
    return [record for record in caplog.records if record.getMessage() == message]


def fields(record: logging.LogRecord) -> Mapping[str, Any]:
    """The record's fields by name, those its log call passed in ``extra=`` included.

    ``extra=`` sets attributes that ``LogRecord`` does not declare, so a type checker rejects
    ``record.envelope_id``; ``fields(record)["envelope_id"]`` reads the same value, by the name
    its JSON line gives it."""
    return vars(record)


def json_lines(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as its JSON line, extra fields included (``caplog.text`` leaves them out)."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)
