"""Broker users for the deployment tests: broker-wide, so named apart per test and deleted after."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from slack_fanout import topology
from testbed.management import quote
from testbed.processes import REPO
from tests.support.broker import VirtualHost

DEFINITIONS = REPO / "rabbitmq" / "definitions.json"


@pytest.fixture
def user_prefix(vhost: VirtualHost) -> Iterator[str]:
    """A prefix for the users a test creates; every user named with it is deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    try:
        yield prefix
    finally:
        for user in vhost.management.get("users"):
            if user["name"].startswith(prefix):
                vhost.management.delete(f"users/{quote(user['name'])}")


@pytest.fixture
def management_env(vhost: VirtualHost, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What ``python -m slack_fanout.apply`` reads to reach the test vhost, also set in this process."""
    api = vhost.management
    env = {"RABBITMQ_MANAGEMENT_URL": api.base_url, "RABBITMQ_MANAGEMENT_USER": api.username,
           "RABBITMQ_MANAGEMENT_PASSWORD": api.password, "RABBITMQ_VHOST": vhost.name}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def amqp_url_as(vhost: VirtualHost, user: str, password: str) -> str:
    """The test vhost's URL with another user's credentials."""
    parts = urllib.parse.urlsplit(vhost.amqp_url)
    credentials = f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
    return parts._replace(netloc=f"{credentials}@{parts.hostname}:{parts.port}").geturl()


def load_users_file(vhost: VirtualHost, path: Path, prefix: str) -> None:
    """Import make-secrets' users file into the test vhost, each user renamed ``prefix + name``."""
    users = json.loads(path.read_text())
    for user in users["users"]:
        user["name"] = prefix + user["name"]
    for permission in users["permissions"]:
        permission.update(user=prefix + permission["user"], vhost=vhost.name)
    users["vhosts"] = [{"name": vhost.name}]
    vhost.management.request("POST", "definitions", users)


def passwords(directory: Path) -> dict[str, str]:
    """make-secrets' password of each broker user, by role."""
    return {user.role: (directory / f"rabbitmq_password_{user.role}").read_text().strip()
            for user in topology.broker_users()}  # fmt: skip


def committed_definitions(vhost: str) -> dict:
    definitions = json.loads(DEFINITIONS.read_text())
    for section in definitions.values():
        for item in section:
            if "vhost" in item:
                item["vhost"] = vhost
            elif set(item) == {"name"}:
                item["name"] = vhost
    return definitions
