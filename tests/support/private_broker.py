"""A RabbitMQ node of a test's own, for faults that must not touch the shared broker.

It runs the installed RabbitMQ server under its own node name, ports, cookie and data
directory in a temporary directory, so a test can stop it, restart it or push it into a
memory alarm while every other test keeps the shared node.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import free_port

BIN = Path("/usr/lib/rabbitmq/bin")


class PrivateBroker:
    def __init__(self) -> None:
        if not (BIN / "rabbitmq-server").exists():
            pytest.skip("no RabbitMQ installation to start a private node from")
        self.home = Path(tempfile.mkdtemp(prefix="slack-fanout-broker-"))
        self.node = f"sf-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self._process: subprocess.Popen | None = None
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(uuid.uuid4().hex)
        cookie.chmod(0o400)
        (self.home / "enabled_plugins").write_text("[].\n")
        (self.home / "rabbitmq.conf").write_text("loopback_users.guest = true\n")
        (self.home / "rabbitmq-env.conf").touch()
        self._env = {
            **os.environ,
            "HOME": str(self.home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.home / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.home / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(self.home / "pid"),
        }

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def start(self, timeout: float = 60) -> None:
        with (self.home / "server.log").open("ab") as log:
            self._process = subprocess.Popen(
                [str(BIN / "rabbitmq-server")], env=self._env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self._wait_for_port(open_=True, timeout=timeout)

    def stop_app(self) -> None:
        self.ctl("stop_app")
        self._wait_for_port(open_=False)

    def start_app(self) -> None:
        self.ctl("start_app")
        self._wait_for_port(open_=True)

    def raise_memory_alarm(self) -> None:
        """Every publisher gets connection.blocked, as when a queue fills the broker's memory."""
        self.ctl("set_vm_memory_high_watermark", "0.0000001")

    def clear_memory_alarm(self) -> None:
        self.ctl("set_vm_memory_high_watermark", "0.4")

    def ctl(self, *arguments: str) -> str:
        result = subprocess.run([str(BIN / "rabbitmqctl"), "-n", self.node, *arguments], env=self._env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(arguments)} failed: {result.stderr}")
        return result.stdout

    def close(self) -> None:
        """Stop the node, whatever state it is in, and remove its files."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        subprocess.run(["pkill", "-KILL", "-f", self.node], check=False)  # epmd-registered beam, if detached
        shutil.rmtree(self.home, ignore_errors=True)

    def _wait_for_port(self, open_: bool, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._port_open() == open_:
                return
            if self._process is not None and self._process.poll() is not None:
                break
            time.sleep(0.2)
        tail = (self.home / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(
            f"private broker {self.node}: port {self.port} not {'open' if open_ else 'closed'}:\n{tail}"
        )

    def _port_open(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0


@pytest.fixture
def private_broker() -> Iterator[PrivateBroker]:
    broker = PrivateBroker()
    try:
        broker.start()
        yield broker
    finally:
        broker.close()
