"""A Docker engine of the tests' own: Debian's ``dockerd`` on a socket, data and exec roots of its own.

Never the default ``/var/run/docker.sock``: other tests use testcontainers when they find a
default Docker engine, and must not find this one. The data root is kept between runs (in
``SLACK_FANOUT_ENGINE_DIR``, default ``/var/tmp/slack-fanout-engine``), so the stand-in base
images built into it are reused; the engine itself runs only as long as whoever started it.

    python -m tests.support.engine up      # install what is missing, start (or reuse) the engine
    python -m tests.support.engine down    # stop it, if running
    python -m tests.support.engine env     # DOCKER_HOST=unix://…, for a shell that wants it

Only the processes given ``Engine.env()`` talk to it; nothing here sets ``DOCKER_HOST`` in
this process's environment.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testbed.waiting import eventually

DEFAULT_DIR = Path("/var/tmp/slack-fanout-engine")
PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap", "docker-compose": "docker-compose"}
"""The commands the compose smoke test needs, and the Debian package of each."""
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
NO_REGISTRY_PROXY = "http://127.0.0.1:9"
"""The daemon's proxy for registry traffic: a closed loopback port, so no pull can leave the machine."""


class EngineUnavailable(RuntimeError):
    """The engine cannot run here (not root, no Debian packages, or dockerd does not come up)."""


def engine_dir() -> Path:
    return Path(os.environ.get("SLACK_FANOUT_ENGINE_DIR", DEFAULT_DIR))


def install_missing_packages() -> None:
    """Install from Debian's packages whichever of ``PACKAGES`` is missing (waits for apt's lock)."""
    missing = sorted({package for command, package in PACKAGES.items() if not _which(command)})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise EngineUnavailable(f"missing {', '.join(missing)}: install them (apt-get install) as root")
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "-qq"]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        if subprocess.run([*apt, "install", "-y", *missing], env=environment,
                          capture_output=True).returncode != 0:  # fmt: skip
            subprocess.run([*apt, "update"], env=environment, check=True, capture_output=True)
            subprocess.run(
                [*apt, "install", "-y", *missing], env=environment, check=True, capture_output=True
            )
    except subprocess.CalledProcessError as error:
        raise EngineUnavailable(
            f"apt-get could not install {missing}: {error.stderr.decode()[-500:]}"
        ) from error


def _which(command: str) -> str | None:
    return shutil.which(command, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


@dataclass(frozen=True)
class Engine:
    directory: Path

    @property
    def socket(self) -> Path:
        return self.directory / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.directory / "docker.pid"

    @property
    def log(self) -> Path:
        return self.directory / "dockerd.log"

    def env(self) -> dict[str, str]:
        """The environment for a command that should use this engine (and only this one)."""
        return {**os.environ, "DOCKER_HOST": self.host}

    def docker(
        self, *args: str, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env(), capture_output=True, text=True,
                              check=check, timeout=timeout)  # fmt: skip

    def answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            return self.docker("version", check=False, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def start(self) -> bool:
        """Start the engine unless it already answers; True when this call started it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with _locked(self.directory / "lock"):
            if self.answers():
                return False
            self._stop_stale()
            dockerd = _which("dockerd")
            if dockerd is None:
                raise EngineUnavailable("dockerd is not installed")
            argv = [
                dockerd,
                f"--data-root={self.directory / 'data'}",
                f"--exec-root={self.directory / 'exec'}",
                f"--pidfile={self.pidfile}",
                f"--host={self.host}",
                "--storage-driver=overlay2",
                "--exec-opt=native.cgroupdriver=cgroupfs",
            ]
            environment = {**os.environ, "HTTP_PROXY": NO_REGISTRY_PROXY, "HTTPS_PROXY": NO_REGISTRY_PROXY,
                           "NO_PROXY": ""}  # fmt: skip
            environment.pop("DOCKER_HOST", None)
            with self.log.open("ab") as log:
                subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=environment, start_new_session=True)  # fmt: skip
            eventually(self.answers, f"dockerd to answer on {self.socket}", START_TIMEOUT_S, interval=0.2,
                       context=self._log_tail, failure=EngineUnavailable)  # fmt: skip
            return True

    def stop(self) -> None:
        """Stop the engine if it runs (its containers stop with it)."""
        with _locked(self.directory / "lock"):
            self._stop_stale()

    def _stop_stale(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)
        # dockerd leaves its default network namespace mounted in the exec root; the next start
        # would reuse it, but a stopped engine should leave nothing mounted.
        subprocess.run(["umount", str(self.directory / "exec" / "netns" / "default")], capture_output=True)

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One starter or stopper at a time, across processes."""
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str]) -> int:
    engine = Engine(engine_dir())
    command = argv[0] if argv else "up"
    if command == "up":
        install_missing_packages()
        started = engine.start()
        print(f"engine {'started' if started else 'already running'} on {engine.host}", file=sys.stderr)
    elif command == "down":
        engine.stop()
    elif command == "env":
        print(f"DOCKER_HOST={engine.host}")
    else:
        print(f"usage: python -m tests.support.engine up|down|env (not {command!r})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
