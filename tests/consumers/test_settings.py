"""Specification of a consumer's settings: read from the environment (or files), checked at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.settings import ConsumerSettings
from slack_fanout.settings import ConfigError, load_settings, secret_values


@pytest.fixture(autouse=True)
def no_state_directory(default_broker_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The defaults as a consumer outside the suite reads them: not even the suite's state directory."""
    monkeypatch.delenv("CONSUMER_STATE_DIR", raising=False)


def test_the_defaults_suit_a_local_broker_and_the_real_slack() -> None:
    settings = load_settings(ConsumerSettings)
    assert secret_values(settings.amqp_url) == ("amqp://guest:guest@localhost:5672/%2F",)
    assert settings.slack_bot_token is None
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.consumer_prefetch, settings.consumer_shadow, settings.log_level) == (10, False, "INFO")


def test_the_bot_token_can_come_from_a_file_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "token").write_text("xoxb-from-file\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "token"))
    settings = load_settings(ConsumerSettings)
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert "xoxb-from-file" not in repr(settings)


def test_a_command_line_prefetch_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSUMER_PREFETCH", "50")
    assert load_settings(ConsumerSettings, consumer_prefetch=3).consumer_prefetch == 3


def test_the_log_level_is_accepted_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert load_settings(ConsumerSettings).log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONSUMER_PREFETCH", "0", "CONSUMER_PREFETCH: Input should be greater than 0"),
        ("CONSUMER_PREFETCH", "many", "CONSUMER_PREFETCH: Input should be a valid integer"),
        ("CONSUMER_SHADOW", "perhaps", "CONSUMER_SHADOW: Input should be a valid boolean"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL: Input should be 'DEBUG', 'INFO'"),
    ],
)
def test_a_bad_value_is_one_readable_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(ConsumerSettings)
    assert "\n" not in str(raised.value)


def test_a_shadow_lets_only_read_only_methods_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSUMER_SHADOW_PASS_THROUGH", '["users.info", "conversations.history"]')
    assert load_settings(ConsumerSettings).consumer_shadow_pass_through == (
        "users.info",
        "conversations.history",
    )
    monkeypatch.setenv("CONSUMER_SHADOW_PASS_THROUGH", '["users.info", "chat.postMessage"]')
    with pytest.raises(ConfigError, match=r"chat\.postMessage"):
        load_settings(ConsumerSettings)


def test_behaviour_records_are_on_by_default_and_a_consumer_may_turn_them_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(ConsumerSettings).consumer_behaviour_records is True
    monkeypatch.setenv("CONSUMER_BEHAVIOUR_RECORDS", "false")
    assert load_settings(ConsumerSettings).consumer_behaviour_records is False
