"""``python -m consumers.primary``: the production bot, on queue ``slack.primary``, talking to Slack."""

import sys

from consumers.cli import run

if __name__ == "__main__":
    sys.exit(run("primary", "consumers.bot:handle"))
