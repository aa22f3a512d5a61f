"""``slack-fanout consume NAME (--handler MOD:FUNC | --wsgi MOD:APP | --forward URL) [options]``.

Adds a consumer with a queue of its own, ``slack.<NAME>``, bound to the gateway's
exchange: no change to the gateway or the other consumers.
"""

from __future__ import annotations

import argparse
import sys

from consumers.app import Target, serve
from consumers.capture import HookPointMoved
from consumers.errors import DeclarationRefused, HandlerNotFound
from slack_fanout.amqp import LoginRefused
from slack_fanout.exit_codes import ExitCode
from slack_fanout.settings import ConfigError
from slack_fanout.topology import InvalidConsumerName

_EXIT_CODES: dict[type[Exception], ExitCode] = {
    ConfigError: ExitCode.CONFIG,
    InvalidConsumerName: ExitCode.CONFIG,
    HandlerNotFound: ExitCode.IMPORT,
    DeclarationRefused: ExitCode.DECLARATIONS,
    LoginRefused: ExitCode.LOGIN_REFUSED,
    HookPointMoved: ExitCode.CAPTURE,
}


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    target = Target(arguments.handler, arguments.wsgi, arguments.forward)
    return run(
        arguments.name, target, shadow=arguments.shadow, reply=arguments.reply, prefetch=arguments.prefetch
    )


def app_main(name: str, description: str, target: Target, argv: list[str] | None, **mode: bool) -> int:
    """One of the repository's apps (``primary``, ``shadow``): a fixed consumer with only ``--prefetch``."""
    parser = argparse.ArgumentParser(prog=f"slack-fanout {name}", description=description)
    _add_prefetch(parser)
    return run(name, target, prefetch=parser.parse_args(argv).prefetch, **mode)


def run(
    name: str, target: Target, *, shadow: bool = False, reply: bool = False, prefetch: int | None = None
) -> int:
    """Serve a consumer; a failure it cannot recover from becomes one line on stderr and an exit code."""
    try:
        serve(name, target, shadow=shadow, reply=reply, prefetch=prefetch)
    except tuple(_EXIT_CODES) as error:
        print(f"slack-fanout consumer: {error}", file=sys.stderr)
        return next(code for kind, code in _EXIT_CODES.items() if isinstance(error, kind))
    return ExitCode.OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slack-fanout consume", description=__doc__.split("\n\n")[1])
    parser.add_argument("name", help="consumer name: its queue is slack.NAME")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--handler", help="package.module:function, called as function(envelope, context)")
    target.add_argument("--wsgi", help="package.module:app, a WSGI app given each original request")
    target.add_argument("--forward", metavar="URL", help="POST each original request to this URL")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--shadow",
        action="store_true",
        help="record Slack calls and answers instead of sending them (CONSUMER_SHADOW)",
    )
    mode.add_argument("--reply", action="store_true", help="send the answer back to Slack (CONSUMER_REPLY)")
    _add_prefetch(parser)
    return parser


def _add_prefetch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prefetch", type=int, help="unacknowledged messages at once (CONSUMER_PREFETCH)")
