"""How a long command shows where it is: a bar with counts and rate on a terminal, plain lines otherwise.

A log file or a CI job gets a line every few seconds, never a stream of carriage returns.
"""

from __future__ import annotations

import time
from typing import TextIO

from slack_fanout.replay_window import Tally, Window

BAR_WIDTH = 30
TERMINAL_INTERVAL = 0.1
PLAIN_INTERVAL = 5.0


class Progress:
    def __init__(self, stream: TextIO, window: Window, interval: float | None = None) -> None:
        """``interval``: seconds between two updates shown; by default, as suits the stream."""
        self._stream = stream
        self._window = window
        self._terminal = stream.isatty()
        default = TERMINAL_INTERVAL if self._terminal else PLAIN_INTERVAL
        self._interval = default if interval is None else interval
        self._shown_at = time.monotonic()

    def update(self, tally: Tally) -> None:
        if time.monotonic() - self._shown_at >= self._interval:
            self._show(tally)

    def finish(self, tally: Tally) -> None:
        self._show(tally, done=True)
        if self._terminal:
            self._stream.write("\n")
            self._stream.flush()

    def _show(self, tally: Tally, done: bool = False) -> None:
        self._shown_at = time.monotonic()
        covered = 1.0 if done else self._window.covered(tally.at) if tally.at else 0.0
        counts = f"{tally.summary()}, {tally.rate():.0f}/s"
        if self._terminal:
            filled = round(covered * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self._stream.write(f"\r[{bar}] {covered:4.0%}  {counts}")
        else:
            at = f" (at {tally.at.isoformat(timespec='seconds')})" if tally.at else ""
            self._stream.write(f"replay: {covered:.0%} of the window{at}: {counts}\n")
        self._stream.flush()
