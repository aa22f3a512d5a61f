"""``python -m verdict`` on JSON-lines files: the verdict printed, and an exit status to gate on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from slack_fanout.behaviour import BehaviourRecord, Escape
from slack_fanout.exit_codes import ExitCode
from testbed.processes import REPO
from testbed.records import modified_candidate, records, same_code, write_lines
from verdict.cli import main

SECONDARY = ["--primary", "primary", "--candidate", "shadow", "--secondary", "shadow-control"]


def test_the_same_code_exits_0_and_prints_a_table_per_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(tmp_path / "records.jsonl", records(same_code, 10))

    assert main(["--file", str(path), *SECONDARY]) == ExitCode.OK

    out = capsys.readouterr().out
    assert out.startswith("verdict: SAFE: 'shadow' against 'primary', noise from 'shadow-control'")
    assert "command:/deploy" in out and "event:app_mention" in out


def test_a_modified_candidate_exits_1_and_the_json_names_each_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(tmp_path / "records.jsonl", records(modified_candidate, 10))

    assert main(["--file", str(path), *SECONDARY, "--json"]) == ExitCode.DIFFERS

    verdict = json.loads(capsys.readouterr().out)
    significant = {
        (e["endpoint"], f["path"]) for e in verdict["endpoints"] for f in e["fields"] if f["significant"]
    }
    assert significant == {
        ("event:app_mention", "calls.chat.postMessage[0].arguments.text"),
        ("event:app_mention", "calls.chat.postMessage[+1]"),
        ("command:/deploy", "answer.body.text"),
    }


def test_missing_records_and_an_escape_exit_9(tmp_path: Path) -> None:
    built = records(same_code, 10)
    no_candidate = [r for r in built if r.consumer != "shadow"]
    escaped = [escape(r) if r.consumer == "shadow" else r for r in built]

    assert (
        main(["--file", str(write_lines(tmp_path / "missing.jsonl", no_candidate)), *SECONDARY])
        == ExitCode.UNSAFE
    )
    assert (
        main(["--file", str(write_lines(tmp_path / "escaped.jsonl", escaped)), *SECONDARY]) == ExitCode.UNSAFE
    )


def test_thresholds_and_ignore_rules_come_from_the_config_file(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "records.jsonl", records(modified_candidate, 10))
    config = tmp_path / "verdict.toml"
    config.write_text('[[ignore]]\npath = "calls.*"\n[[ignore]]\nendpoint = "command:*"\npath = "answer.*"\n')

    assert main(["--file", str(path), *SECONDARY, "--config", str(config)]) == ExitCode.OK
    assert main(["--file", str(path), *SECONDARY, "--absolute-threshold", "100.1"]) == ExitCode.CONFIG


def test_bad_usage_and_a_file_that_is_not_there_exit_2(tmp_path: Path) -> None:
    assert main(["--file", str(tmp_path / "absent.jsonl")]) == ExitCode.CONFIG
    assert main(["--since", "yesterday-ish", "--file", "-"]) == ExitCode.CONFIG
    assert main(["--primary", "shadow", "--candidate", "shadow", "--file", "-"]) == ExitCode.CONFIG
    for wrong in (["--no-such-option"], ["--idle", "-1"], ["--serve", "65536"], ["--samples", "0"]):
        with pytest.raises(SystemExit) as exited:
            main(wrong)
        assert exited.value.code == 2


def test_a_port_already_taken_is_a_configuration_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "records.jsonl", records(same_code, 2))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]

        assert main(["--file", str(path), "--metrics-port", str(port)]) == ExitCode.CONFIG


def test_it_runs_as_python_dash_m_verdict_from_standard_input(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "records.jsonl", records(modified_candidate, 4))

    with path.open("rb") as lines:
        done = subprocess.run([sys.executable, "-m", "verdict", "--file", "-", *SECONDARY], stdin=lines,
                              capture_output=True, cwd=REPO, timeout=60)  # fmt: skip

    assert done.returncode == ExitCode.DIFFERS, done.stderr
    assert b"answer.body.text" in done.stdout


def escape(record: BehaviourRecord) -> BehaviourRecord:
    return record.model_copy(update={"escapes": [Escape(host="slack.com", port=443, where="bot.py:7")]})
