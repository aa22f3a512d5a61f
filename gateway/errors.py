"""Every way the gateway refuses a request, each with the HTTP status Slack gets back.

A refusal publishes nothing. Messages are safe to return and log: they never quote the
body, a signature or a token.
"""

from __future__ import annotations

UNEXPECTED = "unexpected error; see the gateway's log"
"""The message of a 500: a bug, whose traceback is logged."""


def error_document(code: str, message: str) -> dict[str, str]:
    """The JSON body of every refusal and error: ``code`` stable for machines, ``message`` for people."""
    return {"error": code, "message": message}


class GatewayError(Exception):
    """Base: ``status`` is the HTTP status, ``code`` a stable machine-readable name."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(GatewayError):
    """The request could not be shown to come from Slack (401)."""

    status = 401
    code = "unauthorized"


class InvalidSignature(Unauthorized):
    code = "invalid_signature"


class StaleTimestamp(Unauthorized):
    code = "stale_timestamp"


class InvalidToken(Unauthorized):
    code = "invalid_token"


class BadRequest(GatewayError):
    """The body is not a Slack request we can read (400)."""

    status = 400
    code = "bad_request"


class BodyNotUtf8(BadRequest):
    code = "body_not_utf8"


class MalformedBody(BadRequest):
    code = "malformed_body"


class UnknownPayload(BadRequest):
    code = "unknown_payload"


class UnsupportedMediaType(GatewayError):
    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(GatewayError):
    status = 413
    code = "payload_too_large"


class PublishFailed(GatewayError):
    """The broker did not confirm the message (503): Slack retries, so nothing is lost."""

    status = 503
    code = "broker_unavailable"


class BrokerUnreachable(PublishFailed):
    code = "broker_unreachable"


class PublishNacked(PublishFailed):
    code = "publish_nacked"


class Unroutable(PublishFailed):
    """No queue is bound to the exchange: a 200 would promise delivery to nobody."""

    code = "unroutable"


class ConfirmTimeout(PublishFailed):
    """No confirm in time: the message may still land, so a consumer can see it twice, never zero times."""

    code = "confirm_timeout"


class BrokerBlocked(PublishFailed):
    """The broker blocked publishers (memory or disk alarm): refuse fast instead of hanging."""

    code = "broker_blocked"


class GatewayOverloaded(PublishFailed):
    """More publishes awaiting confirms than the worker allows: shed load rather than queue."""

    code = "overloaded"


class ShuttingDown(PublishFailed):
    code = "shutting_down"
