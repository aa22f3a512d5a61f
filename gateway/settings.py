"""The gateway's configuration, read once from the environment at start.

``IngressSettings`` is what both ingresses (HTTP, Socket Mode) share: how they publish and how
they wait for the primary's answer; ``GatewaySettings`` adds the HTTP gateway's own.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from gateway.publisher import PublisherConfig
from gateway.replies import DEFAULT_REPLY_KINDS
from slack_fanout.settings import AppSettings, secret_values

ONE_MIB = 1024 * 1024


class IngressSettings(AppSettings):
    """Environment variables of the same names (upper case); secrets also as ``*_FILE``."""

    publish_timeout_seconds: float = Field(
        2.0, gt=0, lt=3, description="Longest wait for a confirm; Slack gives up after 3 s."
    )
    max_in_flight: int = Field(
        1000, gt=0, description="Publishes one worker lets await confirms before it sheds load with 503."
    )
    reply_passthrough: bool = Field(
        False, description="Return a consumer's answer to Slack as the HTTP response (docs/replies.md)."
    )
    reply_deadline_ms: int = Field(
        2500, gt=0, lt=3000, description="Longest wait for that answer, from the request's arrival."
    )
    reply_kinds: frozenset[str] = Field(
        DEFAULT_REPLY_KINDS,
        description="Request kinds and interactivity payload types that wait for an answer.",
    )
    max_reply_bytes: int = Field(64 * 1024, gt=0, description="A larger answer is not returned.")

    def publisher_config(self) -> PublisherConfig:
        return PublisherConfig(
            amqp_urls=secret_values(self.amqp_url),
            confirm_timeout=self.publish_timeout_seconds,
            max_in_flight=self.max_in_flight,
        )


class GatewaySettings(IngressSettings):
    """The HTTP gateway: how it verifies requests, reads them, and how gunicorn runs it."""

    slack_signing_secret: SecretStr | None = Field(None, description="Verifies X-Slack-Signature.")
    slack_verification_token: SecretStr | None = Field(
        None, description="Legacy token: the only proof unsigned requests (outgoing webhooks) carry."
    )
    signature_max_age_seconds: int = Field(300, gt=0, description="Slack's replay window.")
    max_body_bytes: int = Field(ONE_MIB, gt=0, description="A larger body gets 413.")
    retry_after_seconds: int = Field(1, ge=0, description="Retry-After sent with a 503.")
    trusted_proxies: int = Field(
        0, ge=0, description="Proxies in front of the gateway whose X-Forwarded-* headers are believed."
    )
    web_concurrency: int = Field(2, gt=0, le=256, description="gunicorn worker processes (`-w` overrides).")
    gateway_connections: int = Field(
        100,
        gt=0,
        le=10_000,
        description="Requests one worker serves at once, a greenlet each; more wait for the next free one "
        "(gunicorn's `--worker-connections` overrides it).",
    )

    @model_validator(mode="after")
    def _can_verify_something(self) -> GatewaySettings:
        if not (self.slack_signing_secret or self.slack_verification_token):
            raise ValueError(
                "set SLACK_SIGNING_SECRET (or SLACK_SIGNING_SECRET_FILE) and/or "
                "SLACK_VERIFICATION_TOKEN (or SLACK_VERIFICATION_TOKEN_FILE): "
                "without either, no request can be verified"
            )
        return self
