"""Stand-ins for the official base images, built from Debian's packages: no registry needed.

``debootstrap --variant=minbase bookworm`` makes a root filesystem, ``docker import`` turns it
into a base image, and the Dockerfiles in tests/deployment/images/ build on it a stand-in for
``python:3.11-slim`` and one for ``rabbitmq:3.13-management``. Each image already in the
engine is reused (the build is skipped, or served from its layer cache), so a rerun takes
seconds; nothing is ever pulled: the builds run with ``--pull=false`` on images checked to exist.

    python -m tests.support.standin_images    # build them in the tests' engine (tests.support.engine)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from testbed.processes import REPO
from tests.support.engine import Engine, engine_dir

IMAGES_DIR = REPO / "tests" / "deployment" / "images"
BASE_IMAGE = "slack-fanout-test/debian:bookworm"
PYTHON_IMAGE = "slack-fanout-test/python:3.11-debian"
RABBITMQ_IMAGE = "slack-fanout-test/rabbitmq:3.10-debian"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
CA_BUNDLE_NAME = "pip-ca-bundle.pem"


class StandInFailed(RuntimeError):
    """A stand-in image could not be built; the message has the failing command's output."""


@dataclass(frozen=True)
class StandIns:
    """The image names to give compose: ``PYTHON_IMAGE`` and ``RABBITMQ_IMAGE``."""

    python: str = PYTHON_IMAGE
    rabbitmq: str = RABBITMQ_IMAGE

    def compose_env(self) -> dict[str, str]:
        return {"PYTHON_IMAGE": self.python, "RABBITMQ_IMAGE": self.rabbitmq}


def pip_ca_bundle() -> Path:
    """The CA bundle the host's pip is configured to trust (``pip config``, then the environment)."""
    result = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    configured = [line.split("=", 1)[1].strip("'\"") for line in result.stdout.splitlines()
                  if line.split("=", 1)[0].endswith(".cert")]  # fmt: skip
    candidates = [*configured, os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"),
                  "/etc/ssl/certs/ca-certificates.crt"]  # fmt: skip
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise StandInFailed("no CA bundle found for pip (pip config list shows no cert, PIP_CERT is unset)")


def ensure(engine: Engine) -> StandIns:
    """Every stand-in present in ``engine``, built from Debian's packages where missing or outdated."""
    if not _exists(engine, BASE_IMAGE):
        _import_base(engine)
    ca_bundle = pip_ca_bundle()
    builds = {PYTHON_IMAGE: IMAGES_DIR / "python", RABBITMQ_IMAGE: IMAGES_DIR / "rabbitmq"}
    with ThreadPoolExecutor(len(builds)) as pool:
        for future in [pool.submit(_build, engine, tag, d, ca_bundle) for tag, d in builds.items()]:
            future.result()
    return StandIns()


def _exists(engine: Engine, image: str) -> bool:
    return engine.docker("image", "inspect", image, check=False).returncode == 0


def _import_base(engine: Engine) -> None:
    """debootstrap a minimal bookworm, then ``docker import`` it; the root filesystem is removed after."""
    with tempfile.TemporaryDirectory(dir=engine_dir(), prefix="rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        _run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR], engine)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        _run(["docker", "import", "-", BASE_IMAGE], engine, stdin=tar.stdout)
        if tar.wait() != 0:
            raise StandInFailed(f"tar of {rootfs} failed")


def _build(engine: Engine, tag: str, directory: Path, ca_bundle: Path) -> None:
    """``docker build`` from a copy of ``directory`` with the CA bundle beside the Dockerfile."""
    with tempfile.TemporaryDirectory(prefix="standin-") as context:
        shutil.copytree(directory, context, dirs_exist_ok=True)
        shutil.copyfile(ca_bundle, Path(context) / CA_BUNDLE_NAME)
        _run(["docker", "build", "--quiet", "--pull=false", "--network=host",
              f"--build-arg=BASE_IMAGE={BASE_IMAGE}", f"--tag={tag}", context], engine)  # fmt: skip


def _run(argv: list[str], engine: Engine, stdin: IO[bytes] | None = None) -> None:
    result = subprocess.run(argv, env=engine.env(), stdin=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise StandInFailed(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout[-3000:]}"
                            f"\n{result.stderr[-3000:]}")  # fmt: skip


if __name__ == "__main__":
    print(ensure(Engine(engine_dir())).compose_env())
