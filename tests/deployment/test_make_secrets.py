"""scripts/make-secrets: a password and an AMQP URL per broker user, and the users file the broker imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pika
import pytest

from slack_fanout import topology
from slack_fanout.exit_codes import ExitCode
from testbed.processes import REPO, slack_fanout
from tests.deployment.conftest import amqp_url_as, load_users_file, passwords
from tests.support.broker import VirtualHost

APP_ROLES = ("gateway", "primary", "shadow")


def make_secrets(directory: Path, *options: str) -> list[str]:
    """``scripts/make-secrets`` as from a fresh clone (``-I``: only the script itself finds the checkout)."""
    argv = [sys.executable, "-I", str(REPO / "scripts" / "make-secrets"), str(directory), *options]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.splitlines()


def test_each_user_gets_a_password_and_each_app_its_own_amqp_url(tmp_path: Path) -> None:
    make_secrets(tmp_path)
    secret = passwords(tmp_path)
    assert set(secret) == {"admin", *APP_ROLES}
    assert len(set(secret.values())) == len(secret)
    for role in APP_ROLES:
        assert (
            tmp_path / f"amqp_url_{role}"
        ).read_text() == f"amqp://{role}:{secret[role]}@rabbitmq:5672/%2F\n"
    assert not (tmp_path / "amqp_url_admin").exists()  # the administrator uses the management API
    users_text = (tmp_path / "rabbitmq_users.json").read_text()
    assert not any(password in users_text for password in secret.values())  # salted hashes only
    users = json.loads(users_text)
    assert {u["name"]: u["tags"] for u in users["users"]} == {"admin": ["administrator"], "gateway": [],
                                                              "primary": [], "shadow": []}  # fmt: skip
    assert users["permissions"] == topology.permissions()


def test_a_second_run_keeps_every_file_as_it_was(tmp_path: Path) -> None:
    make_secrets(tmp_path)
    before = {path.name: path.read_text() for path in tmp_path.iterdir()}
    assert all(line.startswith("kept ") for line in make_secrets(tmp_path))
    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == before


def test_a_new_password_is_carried_into_the_users_file_and_the_url(tmp_path: Path) -> None:
    make_secrets(tmp_path)
    (tmp_path / "rabbitmq_password_shadow").write_text("a-new-password\n")
    updated = [line.split()[1] for line in make_secrets(tmp_path) if line.startswith("updated")]
    assert updated == [str(tmp_path / "rabbitmq_users.json"), str(tmp_path / "amqp_url_shadow")]
    assert "shadow:a-new-password@" in (tmp_path / "amqp_url_shadow").read_text()


def test_make_secrets_keeps_what_is_already_there(tmp_path: Path) -> None:
    (tmp_path / "slack_signing_secret").write_text("the-real-one\n")
    make_secrets(tmp_path)
    assert (tmp_path / "slack_signing_secret").read_text() == "the-real-one\n"


def test_the_users_file_loads_into_a_broker_and_each_user_logs_in_with_its_password(
    vhost: VirtualHost, user_prefix: str, tmp_path: Path
) -> None:
    make_secrets(tmp_path)
    load_users_file(vhost, tmp_path / "rabbitmq_users.json", user_prefix)
    for role, password in passwords(tmp_path).items():
        url = amqp_url_as(vhost, user_prefix + role, password)
        pika.BlockingConnection(pika.URLParameters(url)).close()
        with pytest.raises(pika.exceptions.ProbableAuthenticationError):
            pika.BlockingConnection(
                pika.URLParameters(amqp_url_as(vhost, user_prefix + role, "wrong"))
            ).close()


def test_an_added_consumer_gets_its_own_user_and_url_and_keeps_them_on_every_later_run(
    vhost: VirtualHost, user_prefix: str, tmp_path: Path
) -> None:
    make_secrets(tmp_path)
    created = [
        line.split()[1]
        for line in make_secrets(tmp_path, "--consumer", "audit")
        if not line.startswith("kept")
    ]
    assert created == [str(tmp_path / name) for name in ("rabbitmq_password_audit", "rabbitmq_users.json",
                                                           "amqp_url_audit")]  # fmt: skip
    password = (tmp_path / "rabbitmq_password_audit").read_text().strip()
    assert (tmp_path / "amqp_url_audit").read_text() == f"amqp://audit:{password}@rabbitmq:5672/%2F\n"
    users = json.loads((tmp_path / "rabbitmq_users.json").read_text())
    assert topology.consumer_user("audit").permission("/") in users["permissions"]
    assert all(line.startswith("kept ") for line in make_secrets(tmp_path))  # audit stays without --consumer

    load_users_file(vhost, tmp_path / "rabbitmq_users.json", user_prefix)
    pika.BlockingConnection(pika.URLParameters(amqp_url_as(vhost, user_prefix + "audit", password))).close()


def test_the_console_script_is_the_same_command(tmp_path: Path) -> None:
    subprocess.run(
        slack_fanout("secrets", str(tmp_path), "--consumer", "audit"), check=True, capture_output=True
    )
    assert {"amqp_url_audit", "amqp_url_shadow", "rabbitmq_users.json"} <= {
        p.name for p in tmp_path.iterdir()
    }


def test_a_consumer_name_that_would_take_a_shared_name_is_refused(tmp_path: Path) -> None:
    argv = slack_fanout("secrets", str(tmp_path), "--consumer", "archive")
    result = subprocess.run(argv, capture_output=True, text=True)
    assert result.returncode == ExitCode.CONFIG
    assert result.stderr.startswith("slack-fanout secrets: consumer name 'archive' is taken")
    assert not tmp_path.joinpath("rabbitmq_users.json").exists()
