"""``slack-fanout apply``: a running broker given the topology, and told where it differs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slack_fanout import apply, topology
from slack_fanout.exit_codes import ExitCode
from testbed.envelopes import an_envelope
from testbed.management import quote
from testbed.processes import python_module, running
from tests.support.broker import VirtualHost, publish


def run_apply(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = apply.main(list(args))
    return code, capsys.readouterr().out.splitlines()


def outcomes(lines: list[str]) -> set[str]:
    return {line.split()[0] for line in lines}


def broker_topology(vhost: VirtualHost) -> dict[str, Any]:
    """What the broker has in the vhost, in the shape of ``topology.definitions()``'s compared fields."""
    api, v = vhost.management, quote(vhost.name)
    return {
        "exchanges": {(e["name"], e["type"], e["durable"]) for e in api.get(f"exchanges/{v}")
                      if e["name"] and not e["name"].startswith("amq.")},
        "queues": {q["name"]: (q["durable"], q["arguments"]) for q in api.get(f"queues/{v}")},
        "bindings": {(b["source"], b["destination"]) for b in api.get(f"bindings/{v}") if b["source"]},
        "policies": {p["name"]: (p["pattern"], p["definition"]) for p in api.get(f"policies/{v}")},
    }  # fmt: skip


def defined_topology(vhost: VirtualHost) -> dict[str, Any]:
    definitions = topology.definitions(vhost=vhost.name)
    return {
        "exchanges": {(e["name"], e["type"], e["durable"]) for e in definitions["exchanges"]},
        "queues": {q["name"]: (q["durable"], q["arguments"]) for q in definitions["queues"]},
        "bindings": {(b["source"], b["destination"]) for b in definitions["bindings"]},
        "policies": {p["name"]: (p["pattern"], p["definition"]) for p in definitions["policies"]},
    }


def test_apply_gives_a_fresh_vhost_exactly_the_topology_and_then_finds_it_unchanged(
    vhost: VirtualHost, management_env: dict[str, str], tmp_path: Path
) -> None:
    with running(python_module("slack_fanout.apply"), management_env, tmp_path / "apply.log") as process:
        assert process.popen.wait(30) == ExitCode.OK
    lines = process.log_text().splitlines()
    assert "created   queue      slack.archive" in lines
    assert outcomes(lines[1:]) == {"created"}  # the vhost itself was there
    assert broker_topology(vhost) == defined_topology(vhost)

    with running(python_module("slack_fanout.apply"), management_env, tmp_path / "again.log") as process:
        assert process.popen.wait(30) == ExitCode.OK
    assert outcomes(process.log_text().splitlines()) == {"unchanged"}


def test_a_dry_run_reports_what_is_missing_and_creates_nothing(
    vhost: VirtualHost, management_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = run_apply("--dry-run", capsys=capsys)
    assert code == ExitCode.DIFFERS
    assert "missing   exchange   slack.inbound" in lines
    assert vhost.management.queue_names(vhost.name) == set()


def test_a_queue_with_other_arguments_is_reported_and_left_with_its_messages(
    vhost: VirtualHost, management_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = {**topology.consumer_queue_arguments("shadow"), "x-delivery-limit": 99}
    with vhost.channel() as channel:
        channel.exchange_declare(topology.INBOUND_EXCHANGE, "fanout", durable=True)
        channel.queue_declare("slack.shadow", durable=True, arguments=arguments)
        channel.queue_bind("slack.shadow", topology.INBOUND_EXCHANGE)
    publish(vhost, an_envelope().encode())

    code, lines = run_apply(capsys=capsys)

    assert code == ExitCode.DIFFERS
    assert (
        "differs   queue      slack.shadow; arguments x-delivery-limit is 99 on the broker, 5 here" in lines
    )
    assert "created   queue      slack.primary" in lines
    assert vhost.management.queue(vhost.name, "slack.shadow")["arguments"] == arguments
    assert vhost.queue_depth("slack.shadow") == 1


def test_with_users_it_creates_each_user_with_its_permissions(
    vhost: VirtualHost, management_env: dict[str, str], user_prefix: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("RABBITMQ_USER_PREFIX", user_prefix)
    assert apply.main(["--users"]) == ExitCode.CONFIG  # a password is required for each user
    assert "RABBITMQ_ADMIN_PASSWORD" in capsys.readouterr().err
    for user in topology.broker_users():
        monkeypatch.setenv(f"RABBITMQ_{user.role.upper()}_PASSWORD", f"secret-{user.role}")

    assert run_apply("--users", capsys=capsys)[0] == ExitCode.OK
    users = {u["name"]: u["tags"] for u in vhost.management.get("users") if u["name"].startswith(user_prefix)}
    assert users == {f"{user_prefix}{u.role}": list(u.tags) for u in topology.broker_users()}
    granted = [{k: p[k] for k in ("user", "vhost", "configure", "write", "read")}
               for p in vhost.management.get(f"vhosts/{quote(vhost.name)}/permissions")
               if p["user"].startswith(user_prefix)]  # fmt: skip
    expected = topology.permissions(vhost=vhost.name, prefix=user_prefix)
    assert sorted(granted, key=str) == sorted(expected, key=str)
    code, lines = run_apply("--users", capsys=capsys)
    assert (code, outcomes(lines)) == (ExitCode.OK, {"unchanged"})


def test_apply_says_when_it_cannot_reach_the_management_api(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:9")
    assert apply.main([]) == ExitCode.UNREACHABLE
    assert "cannot reach the management API at http://127.0.0.1:9" in capsys.readouterr().err


def test_with_consumer_it_gives_one_added_consumer_its_queues_user_and_permissions(
    vhost: VirtualHost, management_env: dict[str, str], user_prefix: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("RABBITMQ_USER_PREFIX", user_prefix)
    monkeypatch.setenv("RABBITMQ_AUDIT_PASSWORD", "secret-audit")
    code, lines = run_apply("--consumer", "audit", capsys=capsys)
    assert code == ExitCode.OK
    assert f"created   user       {user_prefix}audit" in lines
    assert (
        "created   queue      slack.audit" in lines
        and "created   binding    slack.inbound -> slack.audit" in lines
    )
    assert not any("primary" in line or "archive" in line or "policy" in line for line in lines)
    [granted] = [p for p in vhost.management.get(f"vhosts/{quote(vhost.name)}/permissions")
                 if p["user"] == f"{user_prefix}audit"]  # fmt: skip
    wanted = topology.consumer_user("audit", user_prefix).permission(vhost.name)
    assert {k: granted[k] for k in wanted} == wanted
    assert run_apply("--consumer", "audit", capsys=capsys) == (
        ExitCode.OK,
        [line.replace("created  ", "unchanged") for line in lines],
    )


def test_a_consumer_name_that_would_take_a_shared_name_is_refused(
    management_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert apply.main(["--consumer", "behaviour"]) == ExitCode.CONFIG
    assert "consumer name 'behaviour' is taken" in capsys.readouterr().err


def test_apply_says_when_the_management_api_refuses_its_login(
    vhost: VirtualHost, management_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("RABBITMQ_MANAGEMENT_PASSWORD", "not-the-password")
    assert apply.main([]) == ExitCode.LOGIN_REFUSED
    user = vhost.management.username
    assert f"refused the login of user {user!r} (vhost {vhost.name!r})" in capsys.readouterr().err
