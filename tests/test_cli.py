"""``slack-fanout``: one entry point, a side-effect-free ``--help`` for every command, one exit-code table."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from slack_fanout import cli
from slack_fanout.exit_codes import MEANINGS, ExitCode
from testbed.processes import REPO, python_module, running, slack_fanout

DEAD_MANAGEMENT_API = {"RABBITMQ_MANAGEMENT_URL": "http://127.0.0.1:9", "AMQP_URL": "amqp://127.0.0.1:9/"}


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_prints_its_help_and_does_nothing_else(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # secrets would write ./secrets, gateway would need a checkout
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # gateway hands its arguments to gunicorn there
    for name, value in DEAD_MANAGEMENT_API.items():
        monkeypatch.setenv(name, value)  # a command that tried to connect would fail, not print help
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == ExitCode.OK
    assert f"slack-fanout {command}" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_without_a_command_it_lists_the_commands_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--help"]) == ExitCode.OK
    listing = capsys.readouterr().out
    assert all(f"  {name}  " in listing for name in cli.COMMANDS)
    assert all(f"  {code.value}  {MEANINGS[code]}" in listing for code in ExitCode)
    assert cli.main([]) == ExitCode.CONFIG


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["consumer"]) == ExitCode.CONFIG
    assert "no command 'consumer'; one of: gateway, socket, consume" in capsys.readouterr().err


def test_the_exit_code_table_is_documented_once_as_the_commands_return_it() -> None:
    rows = re.findall(
        r"^\| (\d) \| `(\w+)` \| (.+) \|$", (REPO / "docs" / "cli.md").read_text(), re.MULTILINE
    )
    assert [(int(code), name, meaning) for code, name, meaning in rows] == [
        (code.value, code.name, MEANINGS[code]) for code in ExitCode
    ]


def test_the_installed_script_and_the_python_m_alias_run_the_same_command(tmp_path: Path) -> None:
    for argv in (slack_fanout("status"), python_module("slack_fanout.status")):
        with running(argv, DEAD_MANAGEMENT_API, tmp_path / "status.log", cwd=tmp_path) as process:
            assert process.popen.wait(30) == ExitCode.UNREACHABLE
        assert process.log_text().startswith("slack-fanout status: cannot reach the management API")
