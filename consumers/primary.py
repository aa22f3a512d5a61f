"""``slack-fanout primary``: the production bot, on queue ``slack.primary``, talking to Slack.

It sends its answers back through the gateway (``--reply``). Also ``python -m consumers.primary``.
"""

import sys

from consumers.app import Target
from consumers.cli import app_main


def main(argv: list[str] | None = None) -> int:
    bot = Target(handler="consumers.bot:handle")
    return app_main("primary", __doc__.splitlines()[0], bot, argv, reply=True)


if __name__ == "__main__":
    sys.exit(main())
