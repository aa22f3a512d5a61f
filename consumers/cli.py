"""``python -m consumers run NAME (--handler MOD:FUNC | --wsgi MOD:APP | --forward URL) [options]``.

Adds a consumer with a queue of its own, ``slack.<NAME>``, bound to the gateway's
exchange: no change to the gateway or the other consumers.
"""

from __future__ import annotations

import argparse
import sys

from consumers.app import Target, serve
from consumers.capture import HookPointMoved
from consumers.errors import DeclarationRefused, HandlerNotFound
from slack_fanout.settings import ConfigError
from slack_fanout.topology import InvalidConsumerName

RET_OK = 0
RET_CONFIG = 2
"""A bad setting or consumer name (argparse also exits 2 on bad usage)."""
RET_IMPORT = 3
"""The handler cannot be imported."""
RET_DECLARATIONS = 4
"""The broker refused the consumer's queues or binding."""
RET_CAPTURE = 5
"""The installed slack_sdk moved a method the capture hooks: its calls could not be captured."""

_EXIT_CODES: dict[type[Exception], int] = {
    ConfigError: RET_CONFIG,
    InvalidConsumerName: RET_CONFIG,
    HandlerNotFound: RET_IMPORT,
    DeclarationRefused: RET_DECLARATIONS,
    HookPointMoved: RET_CAPTURE,
}


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    target = Target(arguments.handler, arguments.wsgi, arguments.forward)
    return run(
        arguments.name, target, shadow=arguments.shadow, reply=arguments.reply, prefetch=arguments.prefetch
    )


def run(
    name: str, target: Target, *, shadow: bool = False, reply: bool = False, prefetch: int | None = None
) -> int:
    """Serve a consumer; a failure it cannot recover from becomes one line on stderr and an exit code."""
    try:
        serve(name, target, shadow=shadow, reply=reply, prefetch=prefetch)
    except tuple(_EXIT_CODES) as error:
        print(f"slack-fanout consumer: {error}", file=sys.stderr)
        return next(code for kind, code in _EXIT_CODES.items() if isinstance(error, kind))
    return RET_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m consumers", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("run", help="consume queue slack.NAME")
    command.add_argument("name", help="consumer name: its queue is slack.NAME")
    target = command.add_mutually_exclusive_group(required=True)
    target.add_argument("--handler", help="package.module:function, called as function(envelope, context)")
    target.add_argument("--wsgi", help="package.module:app, a WSGI app given each original request")
    target.add_argument("--forward", metavar="URL", help="POST each original request to this URL")
    mode = command.add_mutually_exclusive_group()
    mode.add_argument(
        "--shadow",
        action="store_true",
        help="record Slack calls and answers instead of sending them (CONSUMER_SHADOW)",
    )
    mode.add_argument("--reply", action="store_true", help="send the answer back to Slack (CONSUMER_REPLY)")
    command.add_argument("--prefetch", type=int, help="unacknowledged messages at once (CONSUMER_PREFETCH)")
    return parser
