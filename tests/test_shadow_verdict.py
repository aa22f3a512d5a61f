"""The verdict end to end: an unchanged Bolt app as the primary, the same app or a modified copy
as the candidate, both behind the real gateway; the comparer reads their records from the stream.

The same code matches on every request although the two sides' Slack values differ (real
``ts`` against fake ones); the modified copy (testbed/apps/bolt_bot_candidate.py) shows exactly
its three changes, in the terminal and on the page (whose rendering in a browser
tests/verdict/test_page.py checks).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slack_fanout.exit_codes import ExitCode
from testbed.http import get
from testbed.slack import SlackRequest
from tests.support.behaviour import (
    BOLT_BOT_CANDIDATE,
    Settled,
    app_mention,
    run_primary_and_candidate,
    slash_command,
)
from tests.support.broker import VirtualHost
from verdict.cli import main
from verdict.join import Roles
from verdict.rules import Rules
from verdict.session import Session
from verdict.web import serve_page

pytestmark = pytest.mark.broker
ROLES = ["--primary", "primary", "--candidate", "candidate", "--idle", "0.5"]
THREE_CHANGES = {
    ("command:/deploy", "answer.body"),
    ("event:app_mention", "calls.chat.postMessage[0].arguments.text"),
    ("event:app_mention", "calls.chat.postMessage[+2]"),
}


def requests() -> list[SlackRequest]:
    def response_url(name: str) -> str:
        return f"https://hooks.slack.com/commands/T0001/{name}/bWFkZS11cC1zZWNyZXQ"

    return [
        slash_command("/deploy", "v1.2", response_url("deploy")),
        app_mention("<@U0BOT> status?", f"Ev{uuid.uuid4().hex[:10]}"),
        slash_command("/report", "q3", response_url("report")),
        app_mention("<@U0BOT> and now?", f"Ev{uuid.uuid4().hex[:10]}"),
    ]


def verdict_of_the_stream(
    vhost: VirtualHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict]:
    """``python -m verdict --json`` on the vhost's behaviour stream, as a pipeline would run it;
    the records it read are saved to ``records.jsonl``, as ``--save`` keeps them for later."""
    monkeypatch.setenv("AMQP_URL", vhost.amqp_url)
    saved = tmp_path / "records.jsonl"
    status = main([*ROLES, "--json", "--save", str(saved)])
    verdict = json.loads(capsys.readouterr().out)
    assert len(saved.read_bytes().splitlines()) == verdict["records"]["read"]
    return status, verdict


def significant(verdict: dict) -> set[tuple[str, str]]:
    return {(e["endpoint"], f["path"]) for e in verdict["endpoints"] for f in e["fields"] if f["significant"]}


def test_the_same_bolt_app_as_candidate_matches_on_every_request(
    vhost: VirtualHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settled = run_primary_and_candidate(vhost, tmp_path, requests())
    posted = [
        (p.calls[-2].response, c.calls[-2].response)
        for p, c in settled.pairs()
        if p.endpoint == "event:app_mention"
    ]
    assert all(real and fake and real["ts"] != fake["ts"] for real, fake in posted), "Slack's values differ"

    status, verdict = verdict_of_the_stream(vhost, tmp_path, monkeypatch, capsys)

    assert status == ExitCode.OK, verdict
    assert (verdict["joined"], verdict["matched"], verdict["escapes"]) == (4, 4, 0)
    assert {e["endpoint"] for e in verdict["endpoints"]} == {
        "command:/deploy",
        "command:/report",
        "event:app_mention",
    }
    assert significant(verdict) == set()


def test_a_modified_bolt_app_shows_exactly_its_three_changes_in_the_terminal_and_on_the_page(
    vhost: VirtualHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settled = run_primary_and_candidate(vhost, tmp_path, requests(), candidate_app=BOLT_BOT_CANDIDATE)

    status, verdict = verdict_of_the_stream(vhost, tmp_path, monkeypatch, capsys)

    assert status == ExitCode.DIFFERS
    assert significant(verdict) == THREE_CHANGES
    assert verdict["escapes"] == 0
    with served_page(settled) as url:
        page = get(url).body.decode()
    differing_on_the_page = re.findall(
        r'"pill significant">differs</span></td>\s*<td class="mono">([^<]+)<', page
    )
    assert sorted(differing_on_the_page) == sorted(path for _endpoint, path in THREE_CHANGES)


@contextmanager
def served_page(settled: Settled) -> Iterator[str]:
    """The page ``--serve`` shows for these records."""
    session = Session(Roles("primary", "candidate"), Rules(), timedelta(seconds=60))
    for record in [*settled.primary, *settled.candidate]:
        session.feed(record.encode())
    session.expire(datetime.now(UTC))
    with serve_page(session, "127.0.0.1", 0, live=False) as url:
        yield url
