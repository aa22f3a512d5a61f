"""``slack-fanout shadow``: the candidate bot on queue ``slack.shadow``; Slack calls only recorded.

Also ``python -m consumers.shadow``.
"""

import sys

from consumers.app import Target
from consumers.cli import app_main


def main(argv: list[str] | None = None) -> int:
    bot = Target(handler="consumers.bot:handle")
    return app_main("shadow", __doc__.splitlines()[0], bot, argv, shadow=True)


if __name__ == "__main__":
    sys.exit(main())
