"""``python -m consumers run NAME --handler package.module:function [--shadow] [--prefetch N]``.

Adds a consumer with a queue of its own, ``slack.<NAME>``, bound to the gateway's
exchange: no change to the gateway or the other consumers.
"""

from __future__ import annotations

import argparse
import sys

from consumers.app import RET_HANDLER, run_consumer
from consumers.errors import HandlerNotFound
from consumers.handlers import load_handler


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        handler = load_handler(arguments.handler)
    except HandlerNotFound as error:
        print(f"slack-fanout consumer: {error}", file=sys.stderr)
        return RET_HANDLER
    return run_consumer(arguments.name, handler, shadow=arguments.shadow, prefetch=arguments.prefetch)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m consumers", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="consume queue slack.NAME with a handler")
    run.add_argument("name", help="consumer name: its queue is slack.NAME")
    run.add_argument("--handler", required=True, help="package.module:function(envelope, context)")
    run.add_argument(
        "--shadow", action="store_true", help="record Slack side effects instead of sending them"
    )
    run.add_argument(
        "--prefetch", type=int, help="unacknowledged messages at once (default: CONSUMER_PREFETCH)"
    )
    return parser
