"""The gateway app in-process, driven through Flask's test client, as every gateway test builds it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers
from werkzeug.test import TestResponse

from gateway.app import create_app
from gateway.extensions import publisher_of
from gateway.settings import GatewaySettings
from testbed import slack


@contextmanager
def gateway_app(amqp_url: str, **overrides: Any) -> Iterator[Flask]:
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


@dataclass(frozen=True, repr=False)
class Answer:
    """What a Flask app answered one request (as testbed.http.HttpAnswer for a real server), and how
    long the answer took."""

    response: TestResponse
    elapsed: float
    """Seconds from sending the request to the whole answer."""

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> Headers:
        return self.response.headers

    @property
    def body(self) -> bytes:
        return self.response.get_data()

    @property
    def json(self) -> Any:
        """The body parsed, for a JSON answer; ``None`` for any other."""
        return self.response.json

    @property
    def error(self) -> str:
        """The gateway's refusal code (``{"error": ...}``); "" for an answer without a JSON body."""
        return self.json["error"] if self.json else ""

    def __repr__(self) -> str:
        retry_after = self.headers.get("Retry-After")
        after = "" if retry_after is None else f" Retry-After {retry_after}"
        return f"<{self.status}{after} {self.body[:120]!r} in {self.elapsed:.3f} s>"


def post(client: FlaskClient, request: slack.SlackRequest | None = None) -> Answer:
    """Post ``request`` to its path, as Slack would; by default a slash command, signed now."""
    if request is None:
        request = slack.signed(slack.slash_command(), slack.FORM)
    started = time.monotonic()
    response = client.post(request.path, data=request.body, headers=request.headers)
    return Answer(response, time.monotonic() - started)
