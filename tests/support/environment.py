"""The environment variables the apps read as settings, so that a test starts from none of them.

A developer's shell may hold any of them (``LOG_LEVEL``, ``REPLY_PASSTHROUGH``, a bot token):
read from every settings class, not listed by hand, so a new setting is reset the day it is added.
"""

from __future__ import annotations

from consumers.settings import ConsumerSettings
from gateway.settings import GatewaySettings
from gateway.socket_mode.settings import SocketModeSettings
from slack_fanout.apply import ApplySettings
from slack_fanout.settings import EnvSettings

SETTINGS_CLASSES: tuple[type[EnvSettings], ...] = (
    GatewaySettings,
    SocketModeSettings,
    ConsumerSettings,
    ApplySettings,
)

SUITE_INPUTS = frozenset(
    {"AMQP_URL", "RABBITMQ_MANAGEMENT_URL", "RABBITMQ_MANAGEMENT_USER", "RABBITMQ_MANAGEMENT_PASSWORD"}
)
"""What points the suite at its broker (README's test command): kept; a test of the defaults removes them."""


def settings_variables() -> list[str]:
    """Every setting's variable and its ``_FILE`` variant, but the suite's inputs."""
    names = {field.upper() for settings in SETTINGS_CLASSES for field in settings.model_fields}
    return sorted(variable for name in names - SUITE_INPUTS for variable in (name, f"{name}_FILE"))
