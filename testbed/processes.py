"""Real processes under test: gunicorn gateways and consumer apps, started as a user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testbed import slack
from testbed.waiting import eventually

REPO = Path(__file__).resolve().parents[1]


class Process:
    """A child process whose stderr (JSON log lines) goes to a file the test can read."""

    def __init__(
        self, argv: list[str], env: Mapping[str, str | None], log_path: Path, cwd: Path = REPO
    ) -> None:
        """``env`` adds to this process's environment; a ``None`` value removes a variable."""
        self.argv = argv
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env={name: value for name, value in {**os.environ, **env}.items() if value is not None},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines of the log; other lines (tracebacks, gunicorn's own) are skipped."""
        return json_lines(self.log_text())

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
        """Until ``condition``; fails at once, with the log, if the process exits first."""

        def met() -> bool:
            if condition():
                return True
            if self.popen.poll() is not None:
                raise AssertionError(
                    f"{self.argv} exited {self.popen.returncode} before {what}:\n{self.log_text()}"
                )
            return False

        eventually(met, what, timeout, context=self.log_text)

    def wait_for_log(self, message: str, timeout: float = 15.0, **fields: Any) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def logged() -> bool:
            found[:] = [
                record
                for record in self.log_records()
                if record.get("message") == message and all(record.get(k) == v for k, v in fields.items())
            ]
            return bool(found)

        self.wait_for(logged, f"log {message!r} {fields}", timeout)
        return found[0]

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def stop(self, timeout: float = 10.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among the lines of an app's log (each a line of slack_fanout.logs)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(
    argv: list[str], env: Mapping[str, str | None], log_path: Path, cwd: Path = REPO
) -> Iterator[Process]:
    process = Process(argv, env, log_path, cwd)
    try:
        yield process
    finally:
        process.stop()


def child_pids(pid: int) -> list[int]:
    """The processes ``pid`` started that still run (gunicorn's workers, say)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(child) for child in found]


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def slack_fanout(*args: str) -> list[str]:
    """The installed console script, as a user runs it."""
    return [str(Path(sys.executable).with_name("slack-fanout")), *args]


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running_gateway(amqp_url: str, log_path: Path, **env: str) -> Iterator[tuple[Process, str]]:
    """The gateway as deployed: ``slack-fanout gateway`` on a free port, started outside the checkout
    (in the log's directory); yields it and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    gateway_env = {
        "AMQP_URL": amqp_url,
        "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
        "SLACK_VERIFICATION_TOKEN": slack.VERIFICATION_TOKEN,
        "WEB_CONCURRENCY": "2",
        **env,
    }
    argv = slack_fanout("gateway", "-b", f"127.0.0.1:{port}")
    with running(argv, gateway_env, log_path, cwd=log_path.parent) as process:
        process.wait_for(lambda: http_ok(f"{url}/healthz"), "gateway to answer /healthz")
        yield process, url


@contextmanager
def running_socket_ingress(
    amqp_url: str, api_url: str, log_path: Path, *, healthy: bool = True, **env: str
) -> Iterator[tuple[Process, str]]:
    """The Socket Mode ingress as deployed, against a fake Slack; yields it (once it answers
    /healthz, unless ``healthy`` is false) and its health URL."""
    from testbed.socket_slack import APP_TOKEN

    port = free_port()
    ingress_env = {
        "AMQP_URL": amqp_url,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": api_url,
        "SOCKET_MODE_HEALTH_HOST": "127.0.0.1",
        "SOCKET_MODE_HEALTH_PORT": str(port),
        **env,
    }
    with running(python_module("gateway.socket_mode"), ingress_env, log_path) as process:
        url = f"http://127.0.0.1:{port}"
        if healthy:
            process.wait_for(lambda: http_ok(f"{url}/healthz"), "the socket ingress to answer /healthz")
        yield process, url
