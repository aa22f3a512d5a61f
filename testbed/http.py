"""A plain HTTP client for tests of real servers: every status comes back, none raises."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from testbed.slack import SlackRequest


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float
    """Seconds from sending the request to the whole answer."""


def post(base_url: str, request: SlackRequest, timeout: float = 10) -> HttpAnswer:
    http_request = urllib.request.Request(
        base_url + request.path, data=request.body, headers=request.headers, method="POST"
    )
    return _answer(http_request, timeout)


def get(url: str, timeout: float = 10) -> HttpAnswer:
    return _answer(urllib.request.Request(url), timeout)


def _answer(request: urllib.request.Request, timeout: float) -> HttpAnswer:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, dict(error.headers), error.read()
    return HttpAnswer(status, headers, body, time.monotonic() - started)
