"""Where the capture meets slack_sdk: the few methods every Slack call of the SDK goes through.

Each hook replaces one method on a class (never an instance: Bolt builds a new ``WebClient``
per request and a new ``WebhookClient`` per ``respond()``), and hands the call to the
``Capture`` with a function that sends it, to a URL of the capture's choosing:

| hook | covers |
|---|---|
| ``BaseClient._perform_urllib_http_request`` | every sync Web API call, pagination included (``WebClient``) |
| ``BaseClient._upload_file`` | the upload URL of ``files_upload_v2`` (``files.slack.com``) |
| ``WebhookClient._perform_http_request`` | ``response_url`` posts (Bolt's ``respond()``), webhooks |
| ``AsyncBaseClient._request`` | every ``AsyncWebClient`` call, pagination included (aiohttp) |
| ``AsyncBaseClient._upload_file`` | the async upload URL |
| ``AsyncWebhookClient._perform_http_request`` | async ``response_url`` posts and webhooks |
| ``LegacyBaseClient`` (same three names) | ``LegacyWebClient``, sync and ``run_async`` |

These are private methods of slack_sdk, so the range of slack_sdk versions this is tested
with is pinned in pyproject.toml, and ``check_hook_points`` (run at install and by a
contract test) refuses to start when one has moved or changed its parameters: a moved hook
would let calls through uncaptured. Without aiohttp installed, slack_sdk's async (and
legacy) clients cannot be imported, let alone used: their hook points are skipped.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from consumers.capture.capture import Capture


class HookKind(Enum):
    WEB_API = "web_api"
    UPLOAD = "upload"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class HookPoint:
    module: str
    cls: str
    attribute: str
    kind: HookKind
    is_async: bool
    parameters: tuple[str, ...]
    """The parameter names the hook relies on, in order (after ``self``)."""

    @property
    def name(self) -> str:
        return f"{self.module}.{self.cls}.{self.attribute}"


_UPLOAD_PARAMETERS = ("url", "data", "logger", "timeout", "proxy", "ssl")

HOOK_POINTS = (
    HookPoint("slack_sdk.web.base_client", "BaseClient", "_perform_urllib_http_request",
              HookKind.WEB_API, False, ("url", "args")),
    HookPoint("slack_sdk.web.base_client", "BaseClient", "_upload_file", HookKind.UPLOAD, False,
              _UPLOAD_PARAMETERS),
    HookPoint("slack_sdk.webhook.client", "WebhookClient", "_perform_http_request", HookKind.WEBHOOK, False,
              ("body", "headers")),
    HookPoint("slack_sdk.web.async_base_client", "AsyncBaseClient", "_request", HookKind.WEB_API, True,
              ("http_verb", "api_url", "req_args")),
    HookPoint("slack_sdk.web.async_base_client", "AsyncBaseClient", "_upload_file", HookKind.UPLOAD, True,
              _UPLOAD_PARAMETERS),
    HookPoint("slack_sdk.webhook.async_client", "AsyncWebhookClient", "_perform_http_request",
              HookKind.WEBHOOK, True, ("body", "headers")),
    HookPoint("slack_sdk.web.legacy_base_client", "LegacyBaseClient", "_perform_urllib_http_request",
              HookKind.WEB_API, False, ("url", "args")),
    HookPoint("slack_sdk.web.legacy_base_client", "LegacyBaseClient", "_upload_file", HookKind.UPLOAD, False,
              _UPLOAD_PARAMETERS),
    HookPoint("slack_sdk.web.legacy_base_client", "LegacyBaseClient", "_request", HookKind.WEB_API, True,
              ("http_verb", "api_url", "req_args")),
)  # fmt: skip


class HookPointMoved(RuntimeError):
    """slack_sdk no longer has a method the capture hooks, or it takes other parameters."""


def _class(point: HookPoint) -> type | None:
    """The hooked class; None when its module needs aiohttp and aiohttp is not installed."""
    try:
        module = importlib.import_module(point.module)
    except ModuleNotFoundError as error:
        if error.name == "aiohttp":
            return None
        raise
    hooked: type = getattr(module, point.cls)
    return hooked


def available_hook_points() -> list[HookPoint]:
    return [point for point in HOOK_POINTS if _importable(point)]


def _importable(point: HookPoint) -> bool:
    try:
        return _class(point) is not None
    except (ImportError, AttributeError):
        return True  # present but broken: check_hook_points says how


def check_hook_points() -> list[str]:
    """The problems with ``HOOK_POINTS`` in the installed slack_sdk (none: it can be captured)."""
    problems = []
    for point in available_hook_points():
        try:
            function = getattr(_class(point), point.attribute)
        except (ImportError, AttributeError) as error:
            problems.append(f"{point.name}: missing ({error})")
            continue
        function = getattr(function, "__wrapped__", function)
        parameters = tuple(inspect.signature(function).parameters)[1:]
        if parameters[: len(point.parameters)] != point.parameters:
            problems.append(f"{point.name}: parameters {parameters}, expected {point.parameters}")
        if inspect.iscoroutinefunction(function) != point.is_async:
            problems.append(f"{point.name}: {'not ' if point.is_async else ''}a coroutine function")
    return problems


def install(capture: Capture) -> None:
    """Replace every hook point's method with one that goes through ``capture``; idempotent.

    Raises ``HookPointMoved`` (before patching anything) when slack_sdk moved one.
    """
    problems = check_hook_points()
    if problems:
        raise HookPointMoved("; ".join(problems))
    for point in available_hook_points():
        cls = _class(point)
        original = getattr(cls, point.attribute)
        original = getattr(original, "__wrapped__", original)
        setattr(cls, point.attribute, _HOOK_MAKERS[(point.kind, point.is_async)](capture, original))


def uninstall() -> None:
    for point in available_hook_points():
        cls = _class(point)
        current = getattr(cls, point.attribute)
        setattr(cls, point.attribute, getattr(current, "__wrapped__", current))


def _sync_web_api(capture: Capture, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def perform(self: Any, *, url: str, args: dict[str, Any]) -> dict[str, Any]:
        return capture.web_api(url, args, lambda target: original(self, url=target, args=args))

    return perform


def _async_web_api(capture: Capture, original: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def request(self: Any, *, http_verb: str, api_url: str, req_args: dict[str, Any]) -> dict[str, Any]:
        def send(target: str) -> Awaitable[Any]:
            return original(self, http_verb=http_verb, api_url=target, req_args=req_args)

        return await capture.async_web_api(api_url, req_args, send)

    return request


def _sync_upload(capture: Capture, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def upload(self: Any, *, url: str, data: bytes, **options: Any) -> Any:
        return capture.upload(url, data, lambda target: original(self, url=target, data=data, **options))

    return upload


def _async_upload(capture: Capture, original: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def upload(self: Any, *, url: str, data: bytes, **options: Any) -> Any:
        def send(target: str) -> Awaitable[Any]:
            return original(self, url=target, data=data, **options)

        return await capture.async_upload(url, data, send)

    return upload


def _retargeted(client: Any, url: str) -> Any:
    """The webhook client posts to its ``url``: a copy of it with another one, the caller's untouched."""
    if url == client.url:
        return client
    clone = copy.copy(client)
    clone.url = url
    return clone


def _sync_webhook(capture: Capture, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def perform(self: Any, *, body: dict[str, Any], headers: dict[str, str]) -> Any:
        def send(target: str) -> Any:
            return original(_retargeted(self, target), body=body, headers=headers)

        return capture.webhook(self.url, body, send)

    return perform


def _async_webhook(capture: Capture, original: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def perform(self: Any, *, body: dict[str, Any], headers: dict[str, str]) -> Any:
        def send(target: str) -> Awaitable[Any]:
            return original(_retargeted(self, target), body=body, headers=headers)

        return await capture.async_webhook(self.url, body, send)

    return perform


_HOOK_MAKERS: dict[tuple[HookKind, bool], Callable[[Capture, Callable[..., Any]], Callable[..., Any]]] = {
    (HookKind.WEB_API, False): _sync_web_api,
    (HookKind.WEB_API, True): _async_web_api,
    (HookKind.UPLOAD, False): _sync_upload,
    (HookKind.UPLOAD, True): _async_upload,
    (HookKind.WEBHOOK, False): _sync_webhook,
    (HookKind.WEBHOOK, True): _async_webhook,
}
