"""``slack-fanout apply``: give a running broker the topology, through the management API.

For a broker that did not boot with ``rabbitmq/definitions.json``, or to check one that did.
Each object of the topology (vhost, exchange, queues, bindings, policies and, with
``--users``, the users and their permissions) is compared with the broker's and reported as
``created``, ``unchanged`` or ``differs``. Nothing that exists is ever changed or deleted: a
queue's arguments cannot change in place, and deleting it would lose its messages.
``--consumer audit`` gives the broker one consumer: its queues, its binding, its user and
its permissions. Also ``python -m slack_fanout.apply``.

Exit 0 when the broker has every object as defined; 1 when one differs or, with
``--dry-run``, is missing; the other codes as every command (docs/cli.md).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, create_model

from slack_fanout import topology
from slack_fanout.exit_codes import ExitCode
from slack_fanout.management import ManagementApi, ManagementError, ManagementSettings, quote, refusal
from slack_fanout.settings import ConfigError, EnvSettings, load_settings


class ApplySettings(ManagementSettings):
    rabbitmq_user_prefix: str = Field(
        "", description="Put before each user's name, when deployments (one vhost each) share a broker."
    )


class Finding(StrEnum):
    """What apply found, or did, for one broker object."""

    CREATED = "created"
    UNCHANGED = "unchanged"
    DIFFERS = "differs"
    MISSING = "missing"  # --dry-run: would be created


@dataclass(frozen=True)
class BrokerObject:
    """One object of the topology: where the API keeps it, what it should be, and how to create it."""

    kind: str
    name: str
    path: str
    wanted: dict[str, Any]
    create_body: dict[str, Any] | None = None  # when creating needs more than ``wanted`` (a password)
    create_method: str = "PUT"


@dataclass(frozen=True)
class Report:
    kind: str
    name: str
    outcome: Finding
    differences: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        line = f"{self.outcome:<10}{self.kind:<11}{self.name}"
        return "; ".join([line, *self.differences])


def topology_objects(
    vhost: str, archive: bool = True, consumers: tuple[str, ...] = topology.CONSUMERS, shared: bool = True
) -> Iterator[BrokerObject]:
    """``topology.definitions()`` as management API objects, each after those it needs.

    Without ``shared``, only what ``consumers`` need: the vhost, the exchange, their queues and
    bindings, not the archive nor the policies.
    """
    definitions = topology.definitions(consumers, vhost=vhost, archive=archive and shared)
    v = quote(vhost)
    yield BrokerObject("vhost", vhost, f"vhosts/{v}", {})
    for e in definitions["exchanges"]:
        yield BrokerObject("exchange", e["name"], f"exchanges/{v}/{quote(e['name'])}",
                           _fields(e, "type", "durable", "auto_delete", "internal", "arguments"))  # fmt: skip
    for q in definitions["queues"]:
        yield BrokerObject("queue", q["name"], f"queues/{v}/{quote(q['name'])}",
                           _fields(q, "durable", "auto_delete", "arguments"))  # fmt: skip
    for b in definitions["bindings"]:
        yield BrokerObject("binding", f"{b['source']} -> {b['destination']}",
                           f"bindings/{v}/e/{quote(b['source'])}/q/{quote(b['destination'])}",
                           _fields(b, "routing_key", "arguments"), create_method="POST")  # fmt: skip
    for p in definitions["policies"] if shared else []:
        yield BrokerObject("policy", p["name"], f"policies/{v}/{quote(p['name'])}",
                           _fields(p, "pattern", "apply-to", "priority", "definition"))  # fmt: skip


def user_objects(
    vhost: str, passwords: EnvSettings, users: list[topology.BrokerUser]
) -> Iterator[BrokerObject]:
    """``users`` and their permissions in ``vhost``; passwords as ``password_settings``."""
    for user in users:
        password = getattr(passwords, _password_field(user.role)).get_secret_value()
        yield BrokerObject("user", user.name, f"users/{quote(user.name)}", {"tags": list(user.tags)},
                           create_body={"password": password, "tags": ",".join(user.tags)})  # fmt: skip
        permission = user.permission(vhost)
        yield BrokerObject("permission", f"{user.name} in {vhost}",
                           f"permissions/{quote(vhost)}/{quote(user.name)}",
                           _fields(permission, "configure", "write", "read"))  # fmt: skip


def password_settings(users: list[topology.BrokerUser]) -> type[EnvSettings]:
    """``RABBITMQ_<ROLE>_PASSWORD`` (or ``_FILE``) for each of ``users``."""
    fields: dict[str, Any] = {_password_field(user.role): (SecretStr, ...) for user in users}
    return create_model("UserPasswords", __base__=EnvSettings, **fields)


def apply(api: ManagementApi, objects: Iterator[BrokerObject], dry_run: bool) -> Iterator[Report]:
    """Create each missing object (unless ``dry_run``) and say how each compares."""
    for obj in objects:
        have = _lookup(api, obj)
        if have is None:
            if not dry_run:
                api.request(obj.create_method, obj.path, obj.create_body or obj.wanted)
            yield Report(obj.kind, obj.name, Finding.MISSING if dry_run else Finding.CREATED)
            continue
        found = differences(have, obj.wanted)
        yield Report(obj.kind, obj.name, Finding.DIFFERS if found else Finding.UNCHANGED, found)


def differences(have: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """Where the broker's object is not as the topology wants it: one phrase per field or argument."""
    found: list[str] = []
    for key, value in wanted.items():
        if isinstance(value, dict):
            theirs = have.get(key) or {}
            found.extend(
                _difference(f"{key} {name}", theirs.get(name), value.get(name))
                for name in sorted(theirs.keys() | value.keys())
                if theirs.get(name) != value.get(name)
            )
        elif _normal(key, have.get(key)) != value:
            found.append(_difference(key, have.get(key), value))
    return found


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    vhost = "/"
    try:
        settings = load_settings(ApplySettings)
        vhost = settings.rabbitmq_vhost
        objects, users = _wanted(arguments, vhost, settings.rabbitmq_user_prefix)
        if users:
            passwords = load_settings(password_settings(users))
            objects = itertools.chain(objects, user_objects(vhost, passwords, users))
        outcomes = set()
        for report in apply(ManagementApi.from_settings(settings), objects, arguments.dry_run):
            print(report, flush=True)
            outcomes.add(report.outcome)
    except (ConfigError, ManagementError) as error:
        return refusal("apply", error, vhost)
    if Finding.DIFFERS in outcomes:
        print("objects that differ were left as they are: see docs/operations.md", file=sys.stderr)
    return ExitCode.DIFFERS if outcomes & {Finding.DIFFERS, Finding.MISSING} else ExitCode.OK


def _wanted(
    arguments: argparse.Namespace, vhost: str, prefix: str
) -> tuple[Iterator[BrokerObject], list[topology.BrokerUser]]:
    """The topology objects and the users the command line asks for."""
    if not arguments.consumer:
        objects = topology_objects(vhost, archive=not arguments.no_archive)
        return objects, topology.broker_users(prefix=prefix) if arguments.users else []
    try:
        consumers = tuple(dict.fromkeys(topology.check_consumer_name(name) for name in arguments.consumer))
    except topology.InvalidConsumerName as error:
        raise ConfigError(str(error)) from None
    objects = topology_objects(vhost, consumers=consumers, shared=False)
    return objects, [topology.consumer_user(name, prefix) for name in consumers]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slack-fanout apply", description=__doc__.split("\n\n")[0].split(": ", 1)[1]
    )
    parser.add_argument("--dry-run", action="store_true", help="only report; create nothing")
    users_help = "also the users and their permissions; passwords from RABBITMQ_<ROLE>_PASSWORD(_FILE)"
    parser.add_argument("--users", action="store_true", help=users_help)
    parser.add_argument("--consumer", action="append", metavar="NAME",
                        help="only this consumer (repeatable): its queues, binding, user and permissions; "
                             "password from RABBITMQ_<NAME>_PASSWORD(_FILE)")  # fmt: skip
    parser.add_argument(
        "--no-archive", action="store_true", help="without the archive stream (RabbitMQ < 3.9)"
    )
    return parser


def _lookup(api: ManagementApi, obj: BrokerObject) -> dict[str, Any] | None:
    """The broker's version of ``obj``; for a binding, the one with the same key and arguments."""
    have = api.find(obj.path)
    if isinstance(have, list):
        return next((b for b in have if not differences(b, obj.wanted)), None)
    return have


def _fields(item: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: item[name] for name in names}


def _normal(key: str, value: Any) -> Any:
    """RabbitMQ before 3.9 lists a user's tags as one comma-separated string."""
    return [tag for tag in value.split(",") if tag] if key == "tags" and isinstance(value, str) else value


def _difference(what: str, have: Any, wanted: Any) -> str:
    return f"{what} is {have!r} on the broker, {wanted!r} here"


def _password_field(role: str) -> str:
    return f"rabbitmq_{role.replace('-', '_')}_password"


if __name__ == "__main__":
    sys.exit(main())
