"""Where the app keeps its per-app objects (``app.extensions``), and how request code finds them."""

from __future__ import annotations

from typing import Protocol

from flask import Flask, current_app

from slack_fanout.envelope import Envelope, Reply


class EnvelopePublisher(Protocol):
    """What the app needs of a publisher (``gateway.publisher``; the benchmark swaps in its baseline)."""

    def publish(self, envelope: Envelope) -> None: ...
    def request_reply(self, envelope: Envelope, reply_deadline: float) -> Reply | None: ...
    def ready(self) -> bool: ...
    def start(self) -> None: ...
    def close(self, timeout: float = ...) -> None: ...


PUBLISHER = "slack_fanout.publisher"


def publisher_of(app: Flask) -> EnvelopePublisher:
    return app.extensions[PUBLISHER]


def current_publisher() -> EnvelopePublisher:
    return publisher_of(current_app)
