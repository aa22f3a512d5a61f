"""Where the app keeps its per-app objects (``app.extensions``), and how request code finds them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from flask import Flask, current_app

from slack_fanout.envelope import Envelope, Reply

if TYPE_CHECKING:
    from gateway.replies import ReplyBreaker
    from gateway.settings import GatewaySettings
    from gateway.verification import RequestVerifier


class EnvelopePublisher(Protocol):
    """What the app needs of a publisher (``gateway.publisher``; the benchmark swaps in its baseline)."""

    def publish(self, envelope: Envelope) -> None: ...
    def request_reply(self, envelope: Envelope, reply_deadline: float) -> Reply | None: ...
    def ready(self) -> bool: ...
    def start(self) -> None: ...
    def close(self, timeout: float = ...) -> None: ...


SETTINGS = "slack_fanout.settings"
VERIFIER = "slack_fanout.verifier"
PUBLISHER = "slack_fanout.publisher"
REPLY_BREAKER = "slack_fanout.reply_breaker"


def publisher_of(app: Flask) -> EnvelopePublisher:
    return app.extensions[PUBLISHER]


def current_settings() -> GatewaySettings:
    return current_app.extensions[SETTINGS]


def current_verifier() -> RequestVerifier:
    return current_app.extensions[VERIFIER]


def current_publisher() -> EnvelopePublisher:
    return publisher_of(current_app)


def current_reply_breaker() -> ReplyBreaker:
    return current_app.extensions[REPLY_BREAKER]
