"""The gateway as deployed: ``slack-fanout gateway`` (gunicorn and its packaged configuration), against the
real broker."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from slack_fanout.envelope import Envelope
from slack_fanout.exit_codes import ExitCode
from slack_fanout.topology import INBOUND_EXCHANGE
from testbed import http, slack
from testbed.processes import (
    REPO,
    Process,
    child_pids,
    free_port,
    http_ok,
    running,
    running_gateway,
    slack_fanout,
)
from testbed.waiting import eventually
from tests.support.broker import VirtualHost


def test_gunicorn_serves_the_gateway_and_publishes_confirmed_messages(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    vhost.bind_to_inbound("test.audit")
    with running_gateway(vhost.amqp_url, tmp_path / "gateway.log") as (_gateway, url):
        assert http.get(f"{url}/readyz").status == 200
        request = slack.signed(slack.slash_command(), slack.FORM)
        reply = http.post(url, request)
    assert (reply.status, reply.body) == (200, b"")
    [message] = vhost.drain("test.audit")
    assert Envelope.decode(message).body.encode() == request.body


def test_on_a_broker_without_the_definitions_it_declares_the_exchange_at_start_where_its_user_may(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with running_gateway(vhost.amqp_url, tmp_path / "gateway.log") as (gateway, _url):
        gateway.wait_for_log("connected to broker")
        exchange = vhost.management.get(f"exchanges/{vhost.name}/{INBOUND_EXCHANGE}")
    assert (exchange["type"], exchange["durable"]) == ("fanout", True)


def test_with_the_broker_down_at_start_it_serves_503s_not_crashes(tmp_path: Path) -> None:
    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    with running_gateway(dead_broker, tmp_path / "gateway.log") as (gateway, url):
        assert http.get(f"{url}/readyz").status == 503
        reply = http.post(url, slack.signed(slack.slash_command(), slack.FORM))
        assert reply.status == 503
        assert reply.headers["Retry-After"] == "1"
        assert gateway.popen.poll() is None


def test_an_oversized_body_is_answered_413_even_while_the_client_is_still_sending_it(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    """More than the socket buffers hold, from a client that asks to close the connection after
    the answer (as urllib does): unread bytes left behind would turn the 413 into a reset."""
    oversized = slack.signed(slack.slash_command(text="x" * (8 * 1024 * 1024)), slack.FORM)
    with running_gateway(vhost.amqp_url, tmp_path / "gateway.log") as (_gateway, url):
        answers = [http.post(url, oversized).status for _ in range(3)]
    assert answers == [413, 413, 413]


def test_without_secret_or_token_gunicorn_refuses_to_start_with_a_clear_message() -> None:
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(REPO)}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    result = subprocess.run(
        [gunicorn, "-c", "gateway/gunicorn.conf.py", "-b", "127.0.0.1:0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert result.returncode == ExitCode.CONFIG
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def refusal_at_start(env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """The exit code and the output of a gateway expected to refuse to start."""
    gateway_env = {"SLACK_SIGNING_SECRET": slack.SIGNING_SECRET, **env}
    argv = slack_fanout("gateway", "-b", f"127.0.0.1:{free_port()}")
    with running(argv, gateway_env, tmp_path / "gateway.log", cwd=tmp_path) as gateway:
        exit_code = gateway.popen.wait(20)
    return exit_code, gateway.log_text()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [("LOG_LEVEL", "verbose", "LOG_LEVEL: Input should be 'DEBUG'"),
     ("WEB_CONCURRENCY", "0", "WEB_CONCURRENCY: Input should be greater than 0")],
)  # fmt: skip
def test_a_bad_setting_of_the_server_is_one_line_not_a_traceback(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    exit_code, output = refusal_at_start({variable: value}, tmp_path)
    assert exit_code == ExitCode.CONFIG
    [line] = output.splitlines()
    assert line.startswith(f"slack-fanout gateway: invalid configuration: {message}")


def test_a_refused_login_stops_the_gateway_at_start_naming_the_user_and_the_vhost(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    wrong_password = vhost.amqp_url.replace(":guest@", ":not-the-password@")
    exit_code, output = refusal_at_start({"AMQP_URL": wrong_password}, tmp_path)
    assert exit_code == ExitCode.LOGIN_REFUSED
    [line] = output.splitlines()
    assert line.startswith(
        f"slack-fanout gateway: the broker refused the login of user 'guest' to vhost {vhost.name!r}"
    )
    assert "not-the-password" not in output


def test_gunicorn_options_pass_through_and_win_over_the_settings(vhost: VirtualHost, tmp_path: Path) -> None:
    """WEB_CONCURRENCY itself is what the other tests' gateways run with (see worker_rss_kb)."""
    port = free_port()
    argv = slack_fanout("gateway", "-b", f"127.0.0.1:{port}", "-w", "1")
    env = {"AMQP_URL": vhost.amqp_url, "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET, "WEB_CONCURRENCY": "3"}
    with running(argv, env, tmp_path / "one.log", cwd=tmp_path) as gateway:
        gateway.wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), "the gateway to answer")
        assert len(worker_pids(gateway)) == 1


def test_metrics_add_up_every_worker(vhost: VirtualHost, tmp_path: Path) -> None:
    vhost.bind_to_inbound("test.audit")
    with running_gateway(vhost.amqp_url, tmp_path / "gateway.log") as (_gateway, url):
        for _ in range(6):
            assert http.post(url, slack.signed(slack.slash_command(), slack.FORM)).status == 200
        assert http.post(url, slack.signed(b'{"type": "mystery"}', slack.JSON)).status == 400
        exposition = http.get(f"{url}/metrics").body.decode()
    assert 'slack_fanout_gateway_requests_total{kind="slash_command",status="200"} 6.0' in exposition
    assert 'slack_fanout_gateway_requests_total{kind="refused",status="400"} 1.0' in exposition
    assert "slack_fanout_gateway_published_total 6.0" in exposition
    assert "slack_fanout_gateway_publish_seconds_count 6.0" in exposition


def test_on_sigterm_every_request_answered_200_is_in_the_queue(vhost: VirtualHost, tmp_path: Path) -> None:
    vhost.bind_to_inbound("test.audit")
    outcomes: list[tuple[str, object]] = []
    stop = threading.Event()

    def client(url: str, number: int) -> None:
        for sequence in itertools.count():
            if stop.is_set():
                return
            marker = f"marker-{number}-{sequence}"
            try:
                reply = http.post(url, slack.signed(slack.slash_command(text=marker), slack.FORM), timeout=5)
                outcomes.append((marker, reply.status))
            except OSError as error:  # refused or reset once the listener is closed: never accepted
                outcomes.append((marker, type(getattr(error, "reason", error)).__name__))

    with running_gateway(vhost.amqp_url, tmp_path / "gateway.log") as (gateway, url):
        clients = [threading.Thread(target=client, args=(url, n)) for n in range(8)]
        for thread in clients:
            thread.start()
        eventually(
            lambda: sum(outcome == 200 for _, outcome in list(outcomes)) > 50,
            "more than 50 requests answered 200 before the SIGTERM",
            30,
        )
        gateway.signal(signal.SIGTERM)
        exit_code = gateway.popen.wait(20)
        stop.set()
        for thread in clients:
            thread.join()
    delivered = {Envelope.decode(body).payload["text"] for body in vhost.drain("test.audit")}
    answered_200 = {marker for marker, outcome in outcomes if outcome == 200}
    assert exit_code == 0
    assert len(answered_200) > 50
    assert answered_200 <= delivered
    assert {outcome for _, outcome in outcomes if isinstance(outcome, int)} <= {200, 503}


def worker_pids(gateway: Process) -> list[int]:
    return child_pids(gateway.popen.pid)


def worker_rss_kb(gateway: Process) -> int:
    [worker] = worker_pids(gateway)
    status = Path(f"/proc/{worker}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def test_a_stream_of_hostile_requests_does_not_grow_the_worker(vhost: VirtualHost, tmp_path: Path) -> None:
    vhost.bind_to_inbound("test.audit")
    hostile = [
        slack.signed(b"\xff\xfe" * 500, slack.FORM),
        slack.signed(b"[" * 50_000, slack.JSON),
        slack.SlackRequest(slack.slash_command(), {"Content-Type": slack.FORM, "X-Slack-Signature": "v0=é"}),
        slack.signed(b'{"type": "mystery", "pad": "' + b"a" * 100_000 + b'"}', slack.JSON),
    ]
    with running_gateway(vhost.amqp_url, tmp_path / "gateway.log", WEB_CONCURRENCY="1") as (gateway, url):
        for request in hostile * 20:  # warm up: allocator pools, caches
            http.post(url, request)
        before = worker_rss_kb(gateway)
        statuses = {http.post(url, request).status for request in hostile * 100}
        after = worker_rss_kb(gateway)
    assert statuses <= {400, 401}
    assert vhost.queue_depth("test.audit") == 0
    assert after - before < 5 * 1024, f"worker grew from {before} kB to {after} kB"
