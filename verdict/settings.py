"""The comparer's environment: only the broker to read the behaviour stream from.

Everything else is a command-line option (``python -m verdict --help``) or the config
file (``verdict.rules``).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from slack_fanout.settings import EnvSettings


class VerdictSettings(EnvSettings):
    amqp_url: SecretStr = Field(
        SecretStr("amqp://guest:guest@localhost:5672/%2F"),
        description="Broker whose slack.behaviour stream holds the records; holds a password, never logged.",
    )
