"""Existing Slack apps as consumers: each envelope replayed as the HTTP request Slack sent.

``--wsgi package.module:app`` calls a WSGI app (Flask, Bolt's Flask adapter) in-process;
``--forward URL`` posts to a server anywhere. Either gets the original method, Slack's
headers and the byte-identical body, so the app's own signature or token check passes and
its code needs no change. Its answer is the consumer's answer: a 2xx is success, and its
body the reply a consumer run with ``--reply`` sends back to Slack; a 4xx is final (the app
refuses the request itself: dead-lettered at once, except 408 and 429, which ask for a
retry); anything else is a failure, retried like a handler's.

A message that waited in its queue past Slack's five-minute signature window would be
refused by an app that checks the signature's timestamp. Given the signing secret, the
replayer signs each request afresh at delivery; the gateway checked the original
(``envelope.verified_by``). A request that came over Socket Mode never had a signature: it
is signed here like the others, so an app that checks signatures needs the consumer to have
``SLACK_SIGNING_SECRET``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import urllib3
from slack_sdk.signature import SignatureVerifier
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from consumers.capture.correlation import note_answer
from consumers.errors import AppFailed, PermanentFailure
from slack_fanout.envelope import Envelope, Reply

if TYPE_CHECKING:
    from consumers.context import Context

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})
"""Request Timeout and Too Many Requests: the app asks to be asked again later."""


@dataclass(frozen=True)
class OriginalRequest:
    path: str
    headers: dict[str, str]
    body: bytes


class Replayer:
    """Rebuilds an envelope's original request, signed afresh when given the signing secret."""

    def __init__(self, signing_secret: str | None = None) -> None:
        self._signer = SignatureVerifier(signing_secret) if signing_secret else None

    def rebuild(self, envelope: Envelope) -> OriginalRequest:
        headers = {**envelope.headers, "content-type": envelope.content_type}
        body = envelope.body.encode()
        if self._signer is not None and envelope.verified_by.signed_by_slack:
            timestamp = str(int(time.time()))
            signature = self._signer.generate_signature(timestamp=timestamp, body=body)
            assert signature is not None  # slack_sdk returns None only without a timestamp or a body
            headers["x-slack-request-timestamp"] = timestamp
            headers["x-slack-signature"] = signature
        return OriginalRequest(envelope.path, headers, body)


def app_answer(status: int, content_type: str, body: bytes) -> Reply:
    """A 2xx answer as the reply; raises ``PermanentFailure`` or ``AppFailed`` for the others."""
    if 200 <= status < 300:
        return Reply(content_type or "text/plain; charset=utf-8", body)
    detail = f"the app answered HTTP {status}: {body[:200].decode('utf-8', 'replace')}"
    if 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS:
        raise PermanentFailure(detail)
    raise AppFailed(detail)


class WsgiReplay:
    """A handler that calls a WSGI app in this process with the original request."""

    def __init__(self, app: WsgiApp, replayer: Replayer) -> None:
        self._app = app
        self._replayer = replayer

    def __call__(self, envelope: Envelope, _context: Context) -> Reply:
        request = self._replayer.rebuild(envelope)
        environ = EnvironBuilder(
            path=request.path, method="POST", headers=Headers(request.headers), data=request.body
        ).get_environ()
        body_parts, status, headers = run_wsgi_app(self._app, environ, buffered=True)
        body = b"".join(body_parts)
        code, content_type = int(status.split(" ", 1)[0]), Headers(headers).get("Content-Type", "")
        note_answer(code, content_type, body)
        return app_answer(code, content_type, body)


class HttpForward:
    """A handler that posts the original request to a URL, over a pool of kept-alive connections."""

    def __init__(self, url: str, replayer: Replayer, timeout_s: float, connections: int) -> None:
        self._url = url
        self._replayer = replayer
        self._pool = urllib3.PoolManager(
            maxsize=connections, block=True, retries=False, timeout=urllib3.Timeout(total=timeout_s)
        )

    def __call__(self, envelope: Envelope, _context: Context) -> Reply:
        request = self._replayer.rebuild(envelope)
        try:
            response = self._pool.request(
                "POST", self._url, body=request.body, headers=request.headers, redirect=False
            )
        except urllib3.exceptions.HTTPError as error:
            raise AppFailed(f"POST {self._url} failed: {type(error).__name__}: {error}") from None
        content_type = response.headers.get("content-type", "")
        note_answer(response.status, content_type, response.data)
        return app_answer(response.status, content_type, response.data)
