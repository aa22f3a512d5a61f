"""The Socket Mode ingress's configuration, read once from the environment at start."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator

from gateway.settings import IngressSettings
from gateway.socket_mode.envelopes import MEDIA_TYPES

DEFAULT_PATH = "/slack/events"


class SocketModeSettings(IngressSettings):
    """Publishing and reply settings as the HTTP gateway's; the rest is Socket Mode's own."""

    slack_app_token: SecretStr = Field(
        description="The app-level token (xapp-…) with the connections:write scope; never logged."
    )
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Slack Web API base URL, for apps.connections.open."
    )
    socket_mode_connections: int = Field(
        2,
        ge=1,
        le=10,
        description="WebSocket connections this process keeps open (Slack allows 10 per app): while "
        "one is refreshed, the others still receive.",
    )
    socket_mode_concurrency: int = Field(
        16, ge=1, le=256, description="Envelopes one connection publishes at once (threads)."
    )
    socket_mode_paths: dict[str, str] = Field(
        {"events_api": DEFAULT_PATH, "slash_commands": DEFAULT_PATH, "interactive": DEFAULT_PATH},
        description="The path of the HTTP request each envelope type becomes, as the app's Request "
        "URLs would have had it (a JSON object; types not given keep /slack/events).",
    )
    socket_mode_ping_interval_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="Pings on each connection; one without a pong for four intervals is dead, and replaced.",
    )
    socket_mode_reconnect_delay_max_seconds: float = Field(
        30.0, gt=0, description="Longest wait between attempts to reconnect (from 0.5 s, doubling)."
    )
    socket_mode_health_port: int = Field(
        8001, gt=0, lt=65536, description="Serves /healthz, /readyz and /metrics."
    )
    socket_mode_health_host: str = Field("0.0.0.0", description="Address /healthz and the others listen on.")

    @field_validator("slack_app_token")
    @classmethod
    def _an_app_level_token(cls, token: SecretStr) -> SecretStr:
        if not token.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token (xapp-…), not a bot or user token")
        return token

    @field_validator("socket_mode_paths", mode="after")
    @classmethod
    def _every_type_has_a_path(cls, paths: dict[str, Any]) -> dict[str, str]:
        unknown = set(paths) - set(MEDIA_TYPES)
        if unknown:
            raise ValueError(f"unknown envelope types {sorted(unknown)}; known: {sorted(MEDIA_TYPES)}")
        if not all(isinstance(path, str) and path.startswith("/") for path in paths.values()):
            raise ValueError("each path must start with /")
        return {kind: paths.get(kind, DEFAULT_PATH) for kind in MEDIA_TYPES}
