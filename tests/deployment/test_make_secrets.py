"""scripts/make-secrets: a password and an AMQP URL per broker user, and the users file the broker imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pika
import pytest

from slack_fanout import topology
from tests.deployment.conftest import amqp_url_as, load_users_file, passwords
from tests.support.broker import VirtualHost
from tests.support.processes import REPO

APP_ROLES = ("gateway", "primary", "shadow")


def make_secrets(directory: Path) -> list[str]:
    result = subprocess.run([sys.executable, "-I", str(REPO / "scripts" / "make-secrets"), str(directory)],
                            check=True, capture_output=True, text=True)  # fmt: skip
    return result.stdout.splitlines()


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
