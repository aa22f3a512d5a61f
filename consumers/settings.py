"""A consumer's configuration, read once from the environment at start and validated there."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from consumers.capture.answers import is_read_only
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

    consumer_behaviour_records: bool = Field(
        True,
        description="Publish one behaviour record per envelope to the exchange slack.behaviour (the shadow "
        "verdict reads them); off, no record and no settle wait.",
    )
    consumer_code_version: str = Field(
        "", max_length=200, description="The app's version in its records: a git sha, an image tag."
    )
    consumer_slack_base_url: str | None = Field(
        None,
        pattern=r"^https?://[^/?#]+/?$",
        description="Staging and tests: send every captured call to a Slack host (Web API, response_url and "
        "webhooks, file uploads) to this base URL instead, a fake Slack (http://127.0.0.1:9000).",
    )
    consumer_shadow_pass_through: tuple[str, ...] = Field(
        (),
        description="Read-only Web API methods a shadow may send to Slack (a JSON list, e.g. "
        '["users.info"]); every other call gets a fake answer. Default: none.',
    )
    consumer_settle_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=300,
        description="How long a request's record waits for the work its handler started (Bolt's listeners "
        "after ack(), lazy listeners) before it is published as unsettled.",
    )

    @field_validator("consumer_shadow_pass_through")
    @classmethod
    def _only_read_only_methods(cls, methods: tuple[str, ...]) -> tuple[str, ...]:
        refused = [method for method in methods if not is_read_only(method)]
        if refused:
            raise ValueError(
                f"not read-only Web API methods, a shadow never sends them: {', '.join(refused)}"
            )
        return methods

    @model_validator(mode="after")
    def _a_shadow_never_replies(self) -> ConsumerSettings:
        if self.consumer_reply and self.consumer_shadow:
            raise ValueError("--reply (CONSUMER_REPLY) and --shadow (CONSUMER_SHADOW) exclude each other: "
                             "a shadow's answer must never reach Slack")  # fmt: skip
        return self
