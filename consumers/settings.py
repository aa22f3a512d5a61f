"""A consumer's configuration, read once from the environment at start and validated there."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from slack_fanout.settings import AppSettings
from slack_fanout.topology import RETRY_DELAYS_MS


class ConsumerSettings(AppSettings):
    """Environment variables of the same names (upper case); each also as ``*_FILE``.

    ``--prefetch``, ``--shadow`` and ``--reply`` on the command line override
    ``CONSUMER_PREFETCH``, ``CONSUMER_SHADOW`` and ``CONSUMER_REPLY``.
    """

    slack_bot_token: SecretStr | None = Field(
        None, description="For chat.postMessage; without it, posts are skipped."
    )
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")
    slack_signing_secret: SecretStr | None = Field(
        None,
        description="With --wsgi or --forward: sign each replayed request afresh, so an app that checks "
        "signatures accepts a request that waited in the queue past Slack's five-minute window.",
    )
    consumer_prefetch: int = Field(10, gt=0, le=10_000, description="Unacknowledged messages held at once.")
    consumer_concurrency: int = Field(
        1, gt=0, le=256, description="Handlers running at once (threads); at most the prefetch is useful."
    )
    consumer_shadow: bool = Field(
        False, description="Record Slack calls instead of sending them; the shadow app always does."
    )
    consumer_reply: bool = Field(
        False, description="Send the handler's answer back to Slack (the primary); never with shadow."
    )
    consumer_forward_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="--forward: a POST not answered within this is a failure, retried."
    )
    consumer_retry_delays_ms: tuple[int, ...] = Field(
        RETRY_DELAYS_MS,
        min_length=1,
        description="Waits before each retry of a failed message (a JSON list); then the dead-letter queue.",
    )
    consumer_state_dir: Path = Field(
        Path.home() / ".local" / "state" / "slack-fanout",
        description="Where each consumer keeps its ledger of handled requests (dedupe); keep it on a volume.",
    )
    consumer_metrics_port: int | None = Field(
        None, gt=0, lt=65536, description="Serve Prometheus metrics on this port (none: not served)."
    )
    consumer_log_handled: bool = Field(
        True,
        description="One INFO line per handled message; off, it is logged at DEBUG, and a consumer handles "
        "about twice as many messages per second (failures are always logged; metrics count every message).",
    )

    @model_validator(mode="after")
    def _a_shadow_never_replies(self) -> ConsumerSettings:
        if self.consumer_reply and self.consumer_shadow:
            raise ValueError("--reply (CONSUMER_REPLY) and --shadow (CONSUMER_SHADOW) exclude each other: "
                             "a shadow's answer must never reach Slack")  # fmt: skip
        return self
