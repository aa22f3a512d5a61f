"""What happens to each captured Slack call: suppressed with a fake answer, or sent; always recorded.

A shadow sends nothing: every call gets a fake answer (``answers``), except read-only Web
API methods on the pass-through allowlist, which go to Slack. A primary sends every call
unchanged. Either way the call is recorded, redacted, in the behaviour record of the
envelope being handled (``correlation``); with a base URL set, every call that would go to
a Slack host goes there instead (a fake Slack for staging and tests).

Recording never changes a call: the app gets the SDK's own answer (or the fake) whatever
happens to the record, and a failure to record is counted, never raised.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.web.file_upload_v2_result import FileUploadV2Result
from slack_sdk.webhook.webhook_response import WebhookResponse

from consumers import metrics
from consumers.capture import answers, correlation, guard
from consumers.capture.redaction import redact
from slack_fanout.behaviour import CallMode, CallTarget, Escape, SlackCall

log = logging.getLogger("consumers.capture")

MAX_RECORDED_RESPONSE_BYTES = 64_000
"""A larger answer (a long history page) is recorded as its size and ``ok`` only."""

R = TypeVar("R")


@dataclass(frozen=True)
class CaptureConfig:
    consumer: str
    shadow: bool
    base_url: str | None = None
    """Send captured calls for Slack's hosts here instead (``CONSUMER_SLACK_BASE_URL``)."""
    pass_through: frozenset[str] = frozenset()
    """A shadow's read-only Web API methods that go to Slack (``CONSUMER_SHADOW_PASS_THROUGH``)."""
    correlate: bool = True
    """Count and log the calls no envelope's record can hold (behaviour records are on)."""


@dataclass
class _Call:
    target: CallTarget
    method: str
    arguments: dict[str, Any]
    mode: CallMode
    url: str
    handling: correlation.Handling | None
    started: float

    @property
    def suppressed(self) -> bool:
        return self.mode is CallMode.SUPPRESSED

    def fakes(self) -> answers.Fakes:
        if self.handling is None:
            return answers.Fakes(int(time.time()), 0)
        return answers.Fakes(self.handling.fake_seconds, self.handling.next_sequence())


class Capture:
    def __init__(self, config: CaptureConfig) -> None:
        self.config = config

    # -- the hooks' entry points, one per kind of call, sync and async ---------------------

    def web_api(
        self, url: str, args: dict[str, Any], send: Callable[[str], dict[str, Any]]
    ) -> dict[str, Any]:
        call = self._start(CallTarget.WEB_API, web_api_method(url), request_arguments(args), url)
        if call.suppressed:
            answer = answers.web_api_answer(call.method, call.arguments, call.fakes())
            self._finish(call, 200, answer)
            return {"status": 200, "headers": {"Content-Type": "application/json; charset=utf-8"},
                    "body": json.dumps(answer)}  # fmt: skip
        response = self._send(call, send)
        self._finish(call, response.get("status"), _json_or_text(response.get("body")))
        return response

    async def async_web_api(
        self, url: str, req_args: dict[str, Any], send: Callable[[str], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        call = self._start(CallTarget.WEB_API, web_api_method(url), request_arguments(req_args), url)
        if call.suppressed:
            answer = answers.web_api_answer(call.method, call.arguments, call.fakes())
            self._finish(call, 200, answer)
            return {"data": answer, "headers": {}, "status_code": 200}
        response = await self._send_async(call, send)
        self._finish(call, response.get("status_code"), _json_or_text(response.get("data")))
        return response

    def upload(self, url: str, data: bytes, send: Callable[[str], FileUploadV2Result]) -> FileUploadV2Result:
        call = self._start(CallTarget.UPLOAD, "upload", _content_summary(data), url)
        if call.suppressed:
            self._finish(call, 200, {"body": answers.UPLOAD_BODY})
            return FileUploadV2Result(status=200, body=answers.UPLOAD_BODY)
        result = self._send(call, send)
        self._finish(call, result.status, {"body": result.body})
        return result

    async def async_upload(
        self, url: str, data: bytes, send: Callable[[str], Awaitable[FileUploadV2Result]]
    ) -> FileUploadV2Result:
        call = self._start(CallTarget.UPLOAD, "upload", _content_summary(data), url)
        if call.suppressed:
            self._finish(call, 200, {"body": answers.UPLOAD_BODY})
            return FileUploadV2Result(status=200, body=answers.UPLOAD_BODY)
        result = await self._send_async(call, send)
        self._finish(call, result.status, {"body": result.body})
        return result

    def webhook(
        self, url: str, body: dict[str, Any], send: Callable[[str], WebhookResponse]
    ) -> WebhookResponse:
        call = self._start(CallTarget.WEBHOOK, webhook_method(url), dict(body), url)
        if call.suppressed:
            self._finish(call, 200, {"body": answers.WEBHOOK_BODY})
            return WebhookResponse(url=url, status_code=200, body=answers.WEBHOOK_BODY, headers={})
        response = self._send(call, send)
        self._finish(call, response.status_code, {"body": response.body})
        return response

    async def async_webhook(
        self, url: str, body: dict[str, Any], send: Callable[[str], Awaitable[WebhookResponse]]
    ) -> WebhookResponse:
        call = self._start(CallTarget.WEBHOOK, webhook_method(url), dict(body), url)
        if call.suppressed:
            self._finish(call, 200, {"body": answers.WEBHOOK_BODY})
            return WebhookResponse(url=url, status_code=200, body=answers.WEBHOOK_BODY, headers={})
        response = await self._send_async(call, send)
        self._finish(call, response.status_code, {"body": response.body})
        return response

    def suppressed(self, target: CallTarget, method: str, arguments: dict[str, Any]) -> None:
        """A side effect the runtime kept from Slack itself (a ``--handler`` shadow's ``context.slack``)."""
        call = self._start(target, method, arguments, "")
        call.mode = CallMode.SUPPRESSED
        self._finish(call, None, None)

    def escape(self, escape: Escape) -> None:
        """The guard refused a connection to Slack: into the envelope's record, the log and the metric."""
        handling = correlation.current()
        if handling is not None:
            handling.add_escape(escape)
        metrics.ESCAPES.labels(self.config.consumer).inc()
        log.warning("escape refused: a connection to Slack outside the capture",
                    extra={"host": escape.host, "port": escape.port, "where": escape.where,
                           "envelope_id": handling.envelope_id if handling else None})  # fmt: skip

    # -- the steps every call takes --------------------------------------------------------

    def _start(self, target: CallTarget, method: str, arguments: dict[str, Any], url: str) -> _Call:
        if not self.config.shadow:
            mode = CallMode.SENT
        elif target is CallTarget.WEB_API and method in self.config.pass_through:
            mode = CallMode.PASSED_THROUGH
        else:
            mode = CallMode.SUPPRESSED
        destination = retarget(url, self.config.base_url) if mode is not CallMode.SUPPRESSED else url
        return _Call(target, method, arguments, mode, destination, correlation.current(), time.perf_counter())

    def _send(self, call: _Call, send: Callable[[str], R]) -> R:
        try:
            with guard.capture_sends():
                return send(call.url)
        except Exception as error:
            self._finish(call, None, None, error=correlation.describe(error))
            raise

    async def _send_async(self, call: _Call, send: Callable[[str], Awaitable[R]]) -> R:
        try:
            with guard.capture_sends():
                return await send(call.url)
        except Exception as error:
            self._finish(call, None, None, error=correlation.describe(error))
            raise

    def _finish(self, call: _Call, status: int | None, response: Any, error: str | None = None) -> None:
        """Record the call; never raises, whatever it is given."""
        ended = time.perf_counter()
        try:
            metrics.SLACK_CALLS.labels(self.config.consumer, call.target.value, call.mode.value).inc()
            if call.handling is None:
                self._unattributed(call, "startup" if not correlation.opened_any() else "outside_a_request")
                return
            recorded = SlackCall(
                target=call.target,
                method=call.method,
                arguments=redact(call.arguments),
                mode=call.mode,
                status=status,
                response=_bounded(redact(response)) if response is not None else None,
                error=error,
                offset_ms=call.handling.offset_ms(call.started),
                duration_ms=round((ended - call.started) * 1000, 3),
            )
            if not call.handling.add_call(recorded):
                self._unattributed(call, "after_settle")
        except Exception:
            metrics.RECORD_FAILURES.labels(self.config.consumer, "call").inc()
            log.debug("slack call not recorded", exc_info=True)

    def _unattributed(self, call: _Call, reason: str) -> None:
        if not self.config.correlate:
            return
        metrics.UNATTRIBUTED_CALLS.labels(self.config.consumer, reason).inc()
        level = logging.INFO if reason == "startup" else logging.WARNING
        log.log(level, "slack call not attributed to a request",
                extra={"reason": reason, "target": call.target.value, "method": call.method,
                       "mode": call.mode.value,
                       "envelope_id": call.handling.envelope_id if call.handling else None})  # fmt: skip


def retarget(url: str, base_url: str | None) -> str:
    """``https://slack.com/api/x`` → ``BASE/api/x``, ``https://hooks.slack.com/p`` → ``BASE/p``.

    A URL to any other host (an app's own fake, already) is kept."""
    if not base_url:
        return url
    parts = urllib.parse.urlsplit(url)
    if not guard.is_slack_host(parts.hostname or ""):
        return url
    return base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def web_api_method(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    _, found, method = path.partition("/api/")
    return (method if found else path.rsplit("/", 1)[-1]) or path


def webhook_method(url: str) -> str:
    """``incoming_webhook`` for a webhook of the app's own (``/services/``…), else ``response_url``
    (``/commands/``, ``/actions/``: the URL came with the request)."""
    path = urllib.parse.urlsplit(url).path
    return (
        "incoming_webhook" if path.startswith(("/services/", "/workflows/", "/triggers/")) else "response_url"
    )


def request_arguments(args: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments from the SDK's request: form params, JSON body, multipart fields, files."""
    arguments: dict[str, Any] = {}
    for part in ("params", "data", "json"):
        values = args.get(part)
        if isinstance(values, dict):
            arguments.update(values)
    files = args.get("files")
    if isinstance(files, dict):
        arguments.update(files)
    return {
        name: _content_summary(value) if _is_content(value) else value for name, value in arguments.items()
    }


def _is_content(value: Any) -> bool:
    return isinstance(value, bytes | bytearray | io.IOBase)


def _content_summary(value: Any) -> dict[str, Any]:
    """A file is recorded as its size and digest, never its bytes."""
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, str):
        return {"bytes": len(value.encode()), "sha256": hashlib.sha256(value.encode()).hexdigest()}
    return {"file": str(getattr(value, "name", "") or "stream")}


def _json_or_text(body: Any) -> Any:
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        return {"bytes": len(body)}
    if isinstance(body, str):
        if len(body) > MAX_RECORDED_RESPONSE_BYTES:
            return {"truncated_bytes": len(body)}
        try:
            parsed = json.loads(body)
        except ValueError:
            return {"body": body}
        return parsed if isinstance(parsed, dict) else {"body": parsed}
    return None


def _bounded(response: Any) -> Any:
    if isinstance(response, dict) and len(response) > 8:  # only a big answer is worth measuring
        size = len(json.dumps(response, default=str))
        if size > MAX_RECORDED_RESPONSE_BYTES:
            return {"ok": response.get("ok"), "truncated_bytes": size}
    return response
