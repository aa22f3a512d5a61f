"""Debian's Chromium, headless, as the browser a user would open the page in: the DOM it built,
and a screenshot of what it drew."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
TIMEOUT_S = 120


class Chromium:
    def __init__(self, binary: str, profiles: Path) -> None:
        self.binary = binary
        self.profiles = profiles
        self._runs = 0

    def render(self, url: str, screenshot: Path, width: int = 1400, height: int = 1200) -> str:
        """Load ``url`` once: save what it drew as a PNG at ``screenshot``, return the DOM it built."""
        done = self._run("--dump-dom", f"--screenshot={screenshot}", f"--window-size={width},{height}", url)
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"no PNG at {screenshot}"
        return done.stdout.decode()

    def _run(self, *arguments: str) -> subprocess.CompletedProcess[bytes]:
        """Each run in a fresh profile, so nothing one page left can change the next."""
        self._runs += 1
        profile = self.profiles / f"profile-{self._runs}"
        argv = [self.binary, *FLAGS, f"--user-data-dir={profile}", *arguments]
        done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT_S, check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
        return done


def chromium(tmp_path: Path) -> Chromium:
    """Chromium, or a skip on a laptop without it (CI installs it, and fails without it)."""
    binary = shutil.which("chromium")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium: .ci/run installs Debian's chromium")
        pytest.skip("no chromium (apt-get install chromium)")
    return Chromium(binary, tmp_path)
