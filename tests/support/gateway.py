"""The gateway app in-process, driven through Flask's test client, as every gateway test builds it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from gateway.app import create_app
from gateway.extensions import publisher_of
from gateway.settings import GatewaySettings
from tests.support import slack


@contextmanager
def gateway_app(amqp_url: str, **overrides: object) -> Iterator[Flask]:
    """``create_app`` with the tests' Slack secrets and ``overrides``; its publisher closed afterwards
    (1 s for what is still in flight: a test that froze the broker must not wait the default 5 s)."""
    settings = GatewaySettings(
        amqp_url=amqp_url,
        slack_signing_secret=slack.SIGNING_SECRET,
        slack_verification_token=slack.VERIFICATION_TOKEN,
        **overrides,
    )
    app = create_app(settings)
    try:
        yield app
    finally:
        publisher_of(app).close(timeout=1)
