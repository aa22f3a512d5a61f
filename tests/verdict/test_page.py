"""The verdict's web page, in a real headless Chromium: the overview and one request side by side.

Screenshots are saved in the test's temporary directory (``overview.png``, ``sample.png``
under pytest's ``--basetemp``, by default ``/tmp/pytest-of-<user>/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from testbed.records import modified_candidate, records
from tests.support.chromium import Chromium, chromium
from verdict.join import Roles
from verdict.rules import Rules
from verdict.session import Session
from verdict.web import create_app, redact, serve_page


@pytest.fixture
def session() -> Session:
    """A modified candidate's verdict."""
    session = Session(Roles("primary", "shadow", "shadow-control"), Rules(), timedelta(seconds=60))
    for record in records(modified_candidate, 10):
        session.feed(record.encode())
    session.expire(datetime.now(UTC))
    return session


@pytest.fixture
def page(session: Session) -> Iterator[str]:
    """The page, served as ``--serve`` serves it."""
    with serve_page(session, "127.0.0.1", 0, live=False) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Chromium:
    return chromium(tmp_path)


def test_the_overview_shows_the_verdict_each_endpoint_and_the_fields_that_differ(
    page: str, browser: Chromium, tmp_path: Path
) -> None:
    dom = browser.render(page, tmp_path / "overview.png", height=1150)

    assert '<span class="badge differs">differs</span>' in dom
    assert 'href="#fields-command:/deploy">command:/deploy</a>' in dom and ">event:app_mention</a>" in dom
    assert "answer.body.text" in dom and "calls.chat.postMessage[+1]" in dom
    assert (tmp_path / "overview.png").stat().st_size > 20_000


def test_a_sample_shows_the_inbound_request_both_timelines_and_the_diff(
    page: str, browser: Chromium, tmp_path: Path
) -> None:
    sample = f"{page}sample/m0"

    dom = browser.render(sample, tmp_path / "sample.png", height=1500)

    assert '"type": "app_mention"' in dom
    assert "Primary <code>primary</code>" in dom and "Candidate <code>shadow</code>" in dom
    assert dom.count('<span class="pill suppressed">suppressed</span>') == 3
    assert '<tr class="added">' in dom and "calls.chat.postMessage[+1]" in dom
    assert '<td class="mono">calls.chat.postMessage[0].arguments.text</td>' in dom
    assert (tmp_path / "sample.png").stat().st_size > 20_000


def test_the_page_serves_the_verdict_to_programs_too(session: Session) -> None:
    client = create_app(session).test_client()

    served = client.get("/verdict.json").json
    assert served is not None and served["status"] == "differs"
    assert b'slack_fanout_verdict_status{status="differs"} 1.0' in client.get("/metrics").data
    assert client.get("/sample/no-such-envelope").status_code == 404


def test_while_following_the_overview_reloads_itself(session: Session) -> None:
    live, still = create_app(session, live=True).test_client(), create_app(session).test_client()

    assert b'http-equiv="refresh"' in live.get("/").data
    assert b'http-equiv="refresh"' not in still.get("/").data


def test_a_token_or_a_response_url_that_slipped_into_a_record_never_reaches_the_page() -> None:
    text = '{"token": "xoxb-1234-5678-abcdef", "url": "https://hooks.slack.com/commands/T1/2/s3cr3t"}'

    assert redact(text) == '{"token": "xox…-redacted", "url": "https://hooks.slack.com/commands/…"}'
