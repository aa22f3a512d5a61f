"""Specification of the gateway's configuration: environment, ``*_FILE`` secrets, clear refusals."""

from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from slack_fanout.settings import ConfigError, load_settings, secret_values

pytestmark = pytest.mark.usefixtures("default_broker_settings")


def test_secrets_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "from-env")
    settings = load_settings(GatewaySettings)
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == "from-env"
    assert secret_values(settings.amqp_url) == ("amqp://guest:guest@localhost:5672/%2F",)


def test_a_secret_can_come_from_a_file_named_by_its_FILE_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("from-file\n")
    monkeypatch.setenv("SLACK_VERIFICATION_TOKEN_FILE", str(secret_file))
    settings = load_settings(GatewaySettings)
    assert settings.slack_verification_token is not None
    assert settings.slack_verification_token.get_secret_value() == "from-file"


def test_a_secret_given_both_ways_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "s").write_text("a")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "b")
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(tmp_path / "s"))
    with pytest.raises(ConfigError, match="not both"):
        load_settings(GatewaySettings)


def test_an_unreadable_secret_file_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET_FILE"):
        load_settings(GatewaySettings)


@pytest.mark.parametrize("blank", [None, ""])
def test_without_a_secret_or_a_token_the_gateway_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, blank: str | None
) -> None:
    if blank is not None:
        monkeypatch.setenv("SLACK_SIGNING_SECRET", blank)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        load_settings(GatewaySettings)


def test_a_publish_timeout_slack_would_not_wait_for_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "x")
    monkeypatch.setenv("PUBLISH_TIMEOUT_SECONDS", "3")
    with pytest.raises(ConfigError, match="PUBLISH_TIMEOUT_SECONDS"):
        load_settings(GatewaySettings)


def test_configuration_errors_never_echo_secret_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "super-secret-value")
    monkeypatch.setenv("PUBLISH_TIMEOUT_SECONDS", "nope")
    with pytest.raises(ConfigError) as refusal:
        load_settings(GatewaySettings)
    assert "super-secret-value" not in str(refusal.value)
