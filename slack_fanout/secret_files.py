"""``slack-fanout secrets [DIRECTORY] [--consumer NAME]``: the secrets `docker compose up` mounts (./secrets).

A password per broker user, the users file the broker imports at boot (salted hashes and
each user's permissions, from ``topology.broker_users``), an AMQP URL per app, and
development Slack credentials. Idempotent: a password or Slack credential already there is
kept, so real values written there survive; the files derived from the passwords (the users
file, the AMQP URLs) are rewritten only when they no longer match them. ``--consumer audit``
adds that consumer's user; every consumer with a password file stays in the users file.

Standard library only (and ``topology``), so that ``scripts/make-secrets`` runs before
anything is installed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from slack_fanout.topology import (
    ADMIN_USER,
    CONSUMERS,
    GATEWAY_USER,
    BrokerUser,
    InvalidConsumerName,
    broker_users,
    check_consumer_name,
)

HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
PASSWORD_FILE_PREFIX = "rabbitmq_password_"
CONFIG_ERROR = 2  # ExitCode.CONFIG, without importing anything beyond the standard library


def rabbitmq_password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def hash_matches(password_hash: str, password: str) -> bool:
    salt = base64.b64decode(password_hash)[:4]
    return hmac.compare_digest(rabbitmq_password_hash(password, salt), password_hash)


def consumers_in(directory: Path, added: list[str]) -> tuple[str, ...]:
    """The deployment's consumers, those with a password file there already, then ``added``, each once."""
    found = sorted(
        path.name.removeprefix(PASSWORD_FILE_PREFIX)
        for path in directory.glob(f"{PASSWORD_FILE_PREFIX}*")
        if path.name.removeprefix(PASSWORD_FILE_PREFIX) not in (ADMIN_USER, GATEWAY_USER)
    )
    return tuple(dict.fromkeys(check_consumer_name(name) for name in (*CONSUMERS, *found, *added)))


def users_file(passwords: dict[BrokerUser, str], previous: dict[str, Any]) -> str:
    """The users and their permissions as definitions; a hash that still matches is kept, so is the file."""
    known = {user["name"]: user.get("password_hash", "") for user in previous.get("users", [])}
    users = []
    for user, password in passwords.items():
        password_hash = known.get(user.name, "")
        if not (password_hash and hash_matches(password_hash, password)):
            password_hash = rabbitmq_password_hash(password)
        users.append({"name": user.name, "password_hash": password_hash,
                      "hashing_algorithm": HASHING_ALGORITHM, "tags": list(user.tags)})  # fmt: skip
    permissions = [user.permission("/") for user in passwords]
    definitions = {"vhosts": [{"name": "/"}], "users": users, "permissions": permissions}
    return json.dumps(definitions, indent=2) + "\n"


def write_once(path: Path, content: str) -> None:
    if path.exists():
        print(f"kept    {path}")
        return
    write(path, content, "created")


def write_derived(path: Path, content: str) -> None:
    """Write a file made from others, when it is missing or no longer what they make."""
    if not path.exists():
        write(path, content, "created")
    elif path.read_text() != content:
        write(path, content, "updated")
    else:
        print(f"kept    {path}")


def write(path: Path, content: str, what: str) -> None:
    path.write_text(content)
    path.chmod(0o644)  # read by the containers' non-root users
    print(f"{what} {path}")


def read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def make_secrets(directory: Path, consumers: tuple[str, ...]) -> None:
    directory.mkdir(exist_ok=True)
    directory.chmod(0o700)  # only you, on this machine; containers see just the files mounted into them
    passwords = {}
    for user in broker_users(consumers):
        password_file = directory / f"{PASSWORD_FILE_PREFIX}{user.role}"
        write_once(password_file, secrets.token_urlsafe(24) + "\n")
        passwords[user] = password_file.read_text().strip()
    users_path = directory / "rabbitmq_users.json"
    write_derived(users_path, users_file(passwords, read_json(users_path)))
    for user, password in passwords.items():
        if user.role != ADMIN_USER:  # the administrator uses the management API, not AMQP
            write_derived(
                directory / f"amqp_url_{user.role}", f"amqp://{user.name}:{password}@rabbitmq:5672/%2F\n"
            )
    # Development values until you paste your Slack app's own (Basic Information, OAuth & Permissions).
    write_once(directory / "slack_signing_secret", secrets.token_hex(16) + "\n")
    write_once(directory / "slack_verification_token", secrets.token_urlsafe(18) + "\n")
    write_once(directory / "slack_bot_token", "\n")
    write_once(directory / "slack_app_token", "\n")  # xapp-…, for the socket-mode profile only


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        consumers = consumers_in(arguments.directory, arguments.consumer)
    except InvalidConsumerName as error:
        print(f"slack-fanout secrets: {error}", file=sys.stderr)
        return CONFIG_ERROR
    make_secrets(arguments.directory, consumers)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slack-fanout secrets", description=__doc__.split("\n\n")[1])
    parser.add_argument("directory", nargs="?", type=Path, default=Path("secrets"), help="default: ./secrets")
    parser.add_argument("--consumer", action="append", default=[], metavar="NAME",
                        help="also a broker user and an AMQP URL for this consumer (repeatable)")  # fmt: skip
    return parser
