"""Specification of the Socket Mode ingress's configuration and of its reading of Slack's disconnects."""

from __future__ import annotations

import json

import pytest

from gateway.socket_mode.connection import disconnect_reason
from gateway.socket_mode.settings import SocketModeSettings
from slack_fanout.settings import ConfigError, load_settings
from testbed.socket_slack import APP_TOKEN


def test_the_app_level_token_is_required_and_must_be_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN: Field required"):
        load_settings(SocketModeSettings)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-a-bot-token")
    with pytest.raises(ConfigError, match="app-level token") as refused:
        load_settings(SocketModeSettings)
    assert "xoxb-a-bot-token" not in str(refused.value)


def test_the_token_may_come_from_a_file_and_two_connections_are_kept_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    (tmp_path / "token").write_text(APP_TOKEN + "\n")
    monkeypatch.setenv("SLACK_APP_TOKEN_FILE", str(tmp_path / "token"))
    settings = load_settings(SocketModeSettings)
    assert settings.slack_app_token.get_secret_value() == APP_TOKEN
    assert settings.socket_mode_connections == 2
    assert APP_TOKEN not in repr(settings)


def test_paths_given_for_some_envelope_types_keep_the_default_for_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SOCKET_MODE_PATHS", json.dumps({"slash_commands": "/slack/commands"}))
    paths = load_settings(SocketModeSettings).socket_mode_paths
    assert paths == {"slash_commands": "/slack/commands", "interactive": "/slack/events",
                     "events_api": "/slack/events"}  # fmt: skip
    monkeypatch.setenv("SOCKET_MODE_PATHS", json.dumps({"shortcuts": "/x"}))
    with pytest.raises(ConfigError, match="unknown envelope types"):
        load_settings(SocketModeSettings)


def test_more_connections_than_slack_allows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("SOCKET_MODE_CONNECTIONS", "11")
    with pytest.raises(ConfigError, match="SOCKET_MODE_CONNECTIONS"):
        load_settings(SocketModeSettings)


def test_a_disconnect_message_is_told_apart_from_every_other_message() -> None:
    assert disconnect_reason('{"type": "disconnect", "reason": "refresh_requested"}') == "refresh_requested"
    assert disconnect_reason('{"type": "disconnect"}') == "unknown"
    assert disconnect_reason('{"type": "events_api", "payload": {"text": "\\"disconnect\\""}}') is None
    assert disconnect_reason('{"type": "hello"}') is None
