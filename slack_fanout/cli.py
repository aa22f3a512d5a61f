"""``slack-fanout COMMAND [ARGUMENTS]``: the one entry point to every part of the product.

Each command is a function ``main(argv) -> int`` in its own module, imported only when it
runs, so that ``slack-fanout status`` does not load gunicorn and ``--help`` has no side
effects. Adding a command is one line in ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

from slack_fanout.exit_codes import MEANINGS, ExitCode


@dataclass(frozen=True)
class Command:
    entry_point: str
    """``package.module:function``: takes the command's arguments, returns its exit code."""
    summary: str

    def load(self) -> Callable[[list[str]], int]:
        module, _, function = self.entry_point.partition(":")
        return getattr(importlib.import_module(module), function)


COMMANDS = {
    "gateway": Command("gateway.serve:main", "the gateway under gunicorn; gunicorn's options pass through"),
    "socket": Command("gateway.socket_mode.cli:main", "the Socket Mode ingress: an app with no public URL"),
    "consume": Command("consumers.cli:main", "consume queue slack.NAME with a handler, a WSGI app or a URL"),
    "primary": Command("consumers.primary:main", "the example bot as the production consumer (replies)"),
    "shadow": Command("consumers.shadow:main", "the example bot as a shadow: Slack calls only recorded"),
    "status": Command("slack_fanout.status:main", "each consumer queue's health, as an exit code too"),
    "apply": Command("slack_fanout.apply:main", "give a running broker the topology and the users"),
    "secrets": Command("slack_fanout.secret_files:main", "create the passwords, users file and AMQP URLs"),
    "replay": Command("slack_fanout.replay:main", "copy a window of the archive into one consumer's queue"),
    "verdict": Command("verdict.cli:main", "compare the candidate's behaviour in Slack with the primary's"),
}


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments or arguments[0] in ("-h", "--help"):
        print(usage())
        return ExitCode.OK if arguments else ExitCode.CONFIG
    name, *rest = arguments
    command = COMMANDS.get(name)
    if command is None:
        print(f"slack-fanout: no command {name!r}; one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return ExitCode.CONFIG
    return command.load()(rest)


def usage() -> str:
    width = max(map(len, COMMANDS))
    commands = "\n".join(f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items())
    codes = "\n".join(f"  {code.value}  {MEANINGS[code]}" for code in ExitCode)
    return (
        "usage: slack-fanout COMMAND [ARGUMENTS]   (slack-fanout COMMAND --help for each)\n\n"
        f"commands:\n{commands}\n\nexit codes, the same for every command:\n{codes}"
    )
