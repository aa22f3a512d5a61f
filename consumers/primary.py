"""``python -m consumers.primary``: the production bot, on queue ``slack.primary``, talking to Slack."""

import sys

from consumers.app import Target
from consumers.cli import run

if __name__ == "__main__":
    sys.exit(run("primary", Target(handler="consumers.bot:handle"), reply=True))
