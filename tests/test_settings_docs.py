"""The settings tables in the docs list every setting, with its default, as the typed settings declare it."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from consumers.settings import ConsumerSettings
from gateway.settings import GatewaySettings
from slack_fanout.apply import ApplySettings
from slack_fanout.settings import AppSettings
from testbed.processes import REPO

CELL = re.compile(r"(?<!\\)\|")
"""A column separator: a bar not escaped as ``\\|``."""

TABLES = [
    pytest.param("architecture.md", "## Configuration", GatewaySettings, id="gateway"),
    pytest.param("consumers.md", "## Settings", ConsumerSettings, id="consumers"),
    pytest.param("cli.md", "## Settings of the operator commands", ApplySettings, id="operator-commands"),
]


def table(document: str, heading: str) -> dict[str, dict[str, str]]:
    """The first table under ``heading``: each row's cells by column name, keyed by its variable."""
    lines = (REPO / "docs" / document).read_text().split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(number for number, line in enumerate(lines) if line.startswith("|"))
    table_lines = itertools.takewhile(lambda line: line.startswith("|"), lines[start:])
    header, _rule, *body = [[cell.strip() for cell in CELL.split(line[1:-1])] for line in table_lines]
    return {row[0].strip("`"): dict(zip(header, row, strict=True)) for row in body}


def documented(default: Any) -> str | None:
    """How the docs write a default; None for a default the docs describe in words."""
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    if default is None:
        return "none"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, int | float):
        return f"{default:.15g}"  # 2.0 as 2, 1048576 as itself
    if isinstance(default, str):
        return f"`{default}`" if default else "empty"
    if isinstance(default, tuple) and default and all(isinstance(item, SecretStr) for item in default):
        return f"`{','.join(item.get_secret_value() for item in default)}`"  # AMQP_URL: one URL per node
    if isinstance(default, tuple):
        return f"`{json.dumps(list(default))}`"
    return None


@pytest.mark.parametrize(("document", "heading", "settings"), TABLES)
def test_each_settings_table_lists_exactly_the_settings_with_their_defaults(
    document: str, heading: str, settings: type[BaseSettings]
) -> None:
    rows = table(document, heading)
    assert set(rows) == {name.upper() for name in settings.model_fields}, f"docs/{document} {heading}"
    for name, field in settings.model_fields.items():
        expected = documented(field.default)
        if expected is not None:
            assert rows[name.upper()]["default"] == expected, f"docs/{document}: {name.upper()}"


def test_the_gateway_table_marks_the_settings_every_app_shares() -> None:
    rows = table("architecture.md", "## Configuration")
    shared = {name.upper() for name in AppSettings.model_fields}
    assert {name for name, row in rows.items() if row["app"] == "both"} == shared
