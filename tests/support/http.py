"""A plain HTTP client for tests of real servers: every status comes back, none raises."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from tests.support.slack import SlackRequest


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


def post(base_url: str, request: SlackRequest, timeout: float = 10) -> HttpAnswer:
    http_request = urllib.request.Request(
        base_url + request.path, data=request.body, headers=request.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            return HttpAnswer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, dict(error.headers), error.read())


def get(url: str, timeout: float = 10) -> HttpAnswer:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return HttpAnswer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, dict(error.headers), error.read())
