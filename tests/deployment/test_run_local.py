"""scripts/run-local: the whole system without Docker, as a newcomer starts it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from testbed import http, slack, socket_payloads
from testbed.processes import REPO, Process, free_port, http_ok, running
from testbed.socket_slack import APP_TOKEN, FakeSlack
from tests.support.broker import VirtualHost
from tests.support.recorder import SlackRecorder


def test_run_local_brings_up_gateway_primary_shadow_and_with_an_app_token_socket_mode_and_stops_them_all(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    port = free_port()
    fake_slack = FakeSlack()
    env = {
        "AMQP_URL": vhost.amqp_url,
        "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
        "SOCKET_MODE_HEALTH_PORT": str(free_port()),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    url = f"http://127.0.0.1:{port}"
    with (
        running([str(REPO / "scripts" / "run-local")], env, tmp_path / "run-local.log") as system,
        contextlib.closing(fake_slack),
    ):
        system.wait_for(lambda: http_ok(f"{url}/readyz"), "the gateway")
        for consumer in ("primary", "shadow"):
            system.wait_for_log("consuming", consumer=consumer)
        assert http.post(url, slack.signed(slack.event_callback(), slack.JSON)).status == 200
        for consumer in ("primary", "shadow"):
            system.wait_for_log("handled", consumer=consumer, kind="event_callback")
        fake_slack.wait_for_links(2)
        envelope_id = fake_slack.send("events_api", socket_payloads.event_callback(event_id="EvSocket1"))
        fake_slack.wait_for_ack(envelope_id)
        for consumer in ("primary", "shadow"):
            system.wait_for_log("handled", consumer=consumer, envelope_id=envelope_id)
        system.signal(signal.SIGTERM)
        assert system.popen.wait(20) == 0
    assert not http_ok(f"{url}/healthz")
    assert vhost.management.get(f"vhosts/{vhost.name}/connections") == []


SEED_PRIMARY = {"PRIMARY_WSGI": "testbed.apps.seed_bot:app", "SEED_SIGNING_SECRET": slack.SIGNING_SECRET}
"""A bot that answers in its HTTP response, as the primary, unchanged."""
FORECAST = {"response_type": "in_channel", "text": "Forecast for Oslo: sunny"}


@contextlib.contextmanager
def seed_primary_run_local(
    vhost: VirtualHost, tmp_path: Path, recorder: SlackRecorder, **settings: str
) -> Iterator[tuple[Process, str]]:
    """scripts/run-local with the seed bot as the primary, at its defaults but ``settings``."""
    port = free_port()
    env = {
        "AMQP_URL": vhost.amqp_url,
        "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
        "GATEWAY_BIND": f"127.0.0.1:{port}",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "REPLY_PASSTHROUGH": None,
        **SEED_PRIMARY,
        **settings,
    }
    url = f"http://127.0.0.1:{port}"
    with running([str(REPO / "scripts" / "run-local")], env, tmp_path / "run-local.log") as system:
        system.wait_for(lambda: http_ok(f"{url}/readyz"), "the gateway")
        system.wait_for_log("consuming", consumer="primary")
        yield system, url


def slash_command(recorder: SlackRecorder) -> slack.SlackRequest:
    body = slack.slash_command(text="Oslo", response_url=f"{recorder.url}/commands/T1/1")
    return dataclasses.replace(slack.signed(body, slack.FORM), path="/slack/commands")


def test_by_default_the_primarys_own_answer_is_slacks_response(vhost: VirtualHost, tmp_path: Path) -> None:
    with contextlib.closing(SlackRecorder()) as recorder:
        with seed_primary_run_local(vhost, tmp_path, recorder) as (_system, url):
            reply = http.post(url, slash_command(recorder))
        assert (reply.status, json.loads(reply.body)) == (200, FORECAST)
        assert recorder.calls == []


def test_with_passthrough_off_the_primarys_answer_goes_to_the_response_url(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with contextlib.closing(SlackRecorder()) as recorder:
        with seed_primary_run_local(vhost, tmp_path, recorder, REPLY_PASSTHROUGH="false") as (system, url):
            reply = http.post(url, slash_command(recorder))
            [answer] = recorder.wait_for("/commands/T1/1")
            system.wait_for_log("late reply", route="response_url", awaited=False)
        assert (reply.status, reply.body) == (200, b"")
        assert answer.json() == FORECAST
