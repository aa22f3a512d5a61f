"""scripts/run-local: the whole system without Docker, as a newcomer starts it."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

from tests.support import http, slack, socket_payloads
from tests.support.broker import VirtualHost
from tests.support.processes import REPO, free_port, http_ok, running
from tests.support.socket_slack import APP_TOKEN, FakeSlack


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
