"""``slack-fanout replay``: a window of the archive into one consumer's queue, ending by itself."""

from __future__ import annotations

import io
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slack_fanout import replay, topology
from slack_fanout.amqp import envelope_properties
from slack_fanout.envelope import Envelope, Kind
from slack_fanout.exit_codes import ExitCode
from slack_fanout.progress import Progress
from slack_fanout.replay_window import InvalidWindow, Selection, Tally, Window
from testbed import slack
from testbed.envelopes import an_envelope
from testbed.processes import running, slack_fanout
from tests.support.broker import VirtualHost

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
HANDLER = "testbed.handlers:record"


# The window and the filters.


def test_a_window_is_a_duration_before_now_or_two_timestamps() -> None:
    assert Window.parse("2h", None, NOW) == Window(NOW - timedelta(hours=2), NOW)
    assert Window.parse("2026-12-01T18:00:00Z", "2026-12-01T19:00", NOW) == Window(
        NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    )
    with pytest.raises(InvalidWindow, match="not before --until"):
        Window.parse("1h", "2h", NOW)
    with pytest.raises(InvalidWindow, match="'yesterday' is neither a duration"):
        Window.parse("yesterday", None, NOW)


def test_a_selection_keeps_the_windows_requests_of_the_kinds_and_endpoints_asked_for() -> None:
    window = Window(NOW - timedelta(hours=1), NOW)
    weather = an_envelope().model_copy(update={"received_at": NOW - timedelta(minutes=5)})
    assert Selection(window).matches(weather)
    assert Selection(window, endpoints=("command:/weather",)).matches(weather)
    assert Selection(window, endpoints=("command:*",), kinds=frozenset({Kind.SLASH_COMMAND})).matches(weather)
    assert not Selection(window, endpoints=("event:*",)).matches(weather)
    assert not Selection(window, kinds=frozenset({Kind.EVENT_CALLBACK})).matches(weather)
    assert not Selection(window).matches(
        weather.model_copy(update={"received_at": NOW + timedelta(seconds=1)})
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "halfway", "done"), [
    (Terminal(), "\r[###############---------------]  50%  read 4, matched 3, published 3, skipped 1, ",
     "\r[##############################] 100%  read 4, "),
    (io.StringIO(), "replay: 50% of the window (at 2026-12-01T19:30:00+00:00): read 4, matched 3, "
                    "published 3, skipped 1, ", "replay: 100% of the window"),
])  # fmt: skip
def test_progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere(
    stream: io.StringIO, halfway: str, done: str
) -> None:
    progress = Progress(stream, Window(NOW - timedelta(hours=1), NOW), interval=0)
    tally = Tally(read=4, matched=3, published=3, skipped=1, at=NOW - timedelta(minutes=30))
    progress.update(tally)
    assert stream.getvalue().startswith(halfway)
    progress.finish(tally)
    assert done in stream.getvalue()
    assert stream.getvalue().endswith("\n")


def test_it_refuses_to_replay_into_the_primary_without_yes(capsys: pytest.CaptureFixture[str]) -> None:
    assert replay.main(["--into", "primary", "--since", "1h"]) == ExitCode.CONFIG
    assert "add --yes to replay into it" in capsys.readouterr().err


# Against the broker: the archive stream of a vhost with the whole topology.


@pytest.fixture
def deployed(vhost: VirtualHost, monkeypatch: pytest.MonkeyPatch) -> VirtualHost:
    vhost.management.request("POST", "definitions", topology.definitions(vhost=vhost.name))
    monkeypatch.setenv("AMQP_URL", vhost.amqp_url)
    return vhost


def archive(vhost: VirtualHost, *envelopes: Envelope) -> None:
    """Published as the gateway does: into every bound queue, the archive among them."""
    with vhost.channel() as channel:
        channel.confirm_delivery()
        for envelope in envelopes:
            channel.basic_publish(
                topology.INBOUND_EXCHANGE, "", envelope.encode(), envelope_properties(envelope)
            )


def test_a_replay_copies_the_window_into_one_queue_and_the_ledger_keeps_requests_from_acting_twice(
    deployed: VirtualHost, tmp_path: Path
) -> None:
    missed = [an_envelope(f"missed-{number}") for number in range(2)]
    archive(deployed, *missed)  # before the audit consumer existed
    env = {"AMQP_URL": deployed.amqp_url, "TEST_RECORD_FILE": str(tmp_path / "handled.txt")}
    with running(
        slack_fanout("consume", "audit", "--handler", HANDLER), env, tmp_path / "audit.log"
    ) as audit:
        audit.wait_for_log("consuming")
        seen = an_envelope("seen")
        archive(deployed, seen)
        audit.wait_for_log("handled", envelope_id=seen.id)

        argv = slack_fanout("replay", "--into", "audit", "--since", "1h")
        result = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)

        assert (result.returncode, result.stdout) == (
            ExitCode.OK, "replayed into slack.audit: read 3, matched 3, published 3, skipped 0\n"
        )  # fmt: skip
        audit.wait_for_log("duplicate skipped: already handled", envelope_id=seen.id)
        for envelope in missed:
            audit.wait_for_log("handled", envelope_id=envelope.id)
    assert sorted((tmp_path / "handled.txt").read_text().splitlines()) == ["missed-0", "missed-1", "seen"]
    assert deployed.queue_depth("slack.shadow") == 3  # the other consumers got nothing more


def test_an_archived_request_past_slacks_five_minutes_reaches_an_app_that_checks_signatures(
    deployed: VirtualHost, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ten_minutes_ago = int(time.time()) - 600
    stale = an_envelope("stale", path="/slack/commands", signed_at=ten_minutes_ago)
    other = an_envelope("other").model_copy(update={"payload": {"command": "/other", "text": "other"}})
    archive(deployed, stale, other)
    env = {"AMQP_URL": deployed.amqp_url, "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
           "SEED_SIGNING_SECRET": slack.SIGNING_SECRET,
           "SEED_RECORD_FILE": str(tmp_path / "answered.txt")}  # fmt: skip
    argv = slack_fanout("consume", "legacy", "--wsgi", "testbed.apps.seed_bot:app")
    with running(argv, env, tmp_path / "legacy.log") as legacy:
        legacy.wait_for_log("consuming")
        code = replay.main(["--into", "legacy", "--since", "15m", "--endpoint", "command:/weather"])
        assert (code, capsys.readouterr().out) == (
            ExitCode.OK, "replayed into slack.legacy: read 2, matched 1, published 1, skipped 1\n"
        )  # fmt: skip
        legacy.wait_for_log("handled", envelope_id=stale.id)
    assert (tmp_path / "answered.txt").read_text() == "stale\n"


def test_a_replay_without_its_queue_or_without_the_archive_is_refused(
    deployed: VirtualHost, capsys: pytest.CaptureFixture[str]
) -> None:
    archive(deployed, an_envelope())
    assert replay.main(["--into", "audit", "--since", "1h"]) == ExitCode.DECLARATIONS
    assert "no queue slack.audit: start its consumer once" in capsys.readouterr().err
    with deployed.channel() as channel:
        channel.queue_delete(topology.ARCHIVE_QUEUE)
    assert replay.main(["--into", "shadow", "--since", "1h"]) == ExitCode.DECLARATIONS
    assert "no archive stream slack.archive in this vhost" in capsys.readouterr().err


def test_a_replay_as_a_consumer_user_is_refused_by_the_broker(
    deployed: VirtualHost, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMQP_URL", deployed.amqp_url.replace(":guest@", ":wrong@"))
    assert replay.main(["--into", "shadow", "--since", "1h"]) == ExitCode.LOGIN_REFUSED
    assert "refused the login of user 'guest'" in capsys.readouterr().err


def test_a_window_that_ended_before_the_start_stops_at_its_end(
    deployed: VirtualHost, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    inside = an_envelope("inside").model_copy(update={"received_at": now - timedelta(minutes=30)})
    archive(deployed, inside, an_envelope("after"), an_envelope("later still"))
    assert replay.main(["--into", "shadow", "--since", "1h", "--until", "10m"]) == ExitCode.OK
    assert (
        capsys.readouterr().out == "replayed into slack.shadow: read 2, matched 1, published 1, skipped 1\n"
    )
    assert deployed.queue_depth("slack.shadow") == 3 + 1
