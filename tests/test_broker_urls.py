"""AMQP_URL names one broker node or several, and a client tries them in turn (both apps)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.settings import ConsumerSettings
from gateway.settings import GatewaySettings
from slack_fanout.failover import NodeRotation, node_address
from slack_fanout.settings import ConfigError, load_settings, secret_values

NODES = ("amqp://u:p%2Cw@rabbit-0:5672/%2F", "amqp://u:p%2Cw@rabbit-1:5672/%2F", "amqps://u:pw@rabbit-2/%2F")


@pytest.fixture(autouse=True)
def a_signing_secret(default_broker_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")


@pytest.mark.parametrize("settings_class", [GatewaySettings, ConsumerSettings])
def test_a_comma_separated_list_gives_every_node_in_order(
    settings_class: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMQP_URL", " , ".join(NODES))
    assert secret_values(load_settings(settings_class).amqp_url) == NODES


def test_the_list_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "amqp_url").write_text(",".join(NODES) + "\n")
    monkeypatch.setenv("AMQP_URL_FILE", str(tmp_path / "amqp_url"))
    assert secret_values(load_settings(ConsumerSettings).amqp_url) == NODES


@pytest.mark.parametrize("value", ["", " , ", "rabbit-0:5672", "http://u:secret@rabbit-0/", "amqp:///%2F"])
def test_anything_but_amqp_urls_is_refused_without_repeating_them(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMQP_URL", value)
    with pytest.raises(ConfigError, match="AMQP_URL") as refused:
        load_settings(GatewaySettings)
    assert "secret" not in str(refused.value)


def test_the_urls_never_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMQP_URL", ",".join(NODES))
    assert "p%2Cw" not in repr(load_settings(GatewaySettings))


def test_after_a_failure_the_next_node_comes_first_and_a_full_round_calls_for_backing_off() -> None:
    nodes = NodeRotation(("a", "b", "c"))
    assert nodes.order() == ("a", "b", "c")
    assert nodes.move_on() is False and nodes.order() == ("b", "c", "a")
    assert nodes.move_on() is False and nodes.current() == "c"
    assert nodes.move_on() is True and nodes.current() == "a"  # every node failed in a row


def test_a_connection_made_starts_the_count_of_failures_again() -> None:
    nodes = NodeRotation(("a", "b"))
    nodes.move_on()
    nodes.connected()
    assert nodes.move_on() is False  # the connection to b was lost: try a at once
    assert nodes.move_on() is True


def test_a_single_node_backs_off_after_each_failure() -> None:
    nodes = NodeRotation(("a",))
    assert nodes.move_on() is True and nodes.current() == "a"


def test_a_node_is_logged_by_its_address_only() -> None:
    assert [node_address(url) for url in NODES] == ["rabbit-0:5672", "rabbit-1:5672", "rabbit-2:5671"]
