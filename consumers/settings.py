"""A consumer's configuration, read once from the environment at start."""

from __future__ import annotations

from pydantic import Field, SecretStr

from slack_fanout.settings import EnvSettings


class ConsumerSettings(EnvSettings):
    """Environment variables of the same names (upper case); secrets also as ``*_FILE``."""

    amqp_url: SecretStr = Field(
        SecretStr("amqp://guest:guest@localhost:5672/%2F"),
        description="Broker to consume from; holds a password, so it is never logged.",
    )
    slack_bot_token: SecretStr | None = Field(
        None, description="For chat.postMessage; without it, posts are skipped."
    )
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL.")
    consumer_prefetch: int = Field(10, gt=0, le=10_000, description="Unacknowledged messages held at once.")
    log_level: str = "INFO"
