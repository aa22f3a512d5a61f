"""``python -m consumers.primary``: the production bot, on queue ``slack.primary``, talking to Slack."""

import sys

from consumers import bot
from consumers.app import run_consumer

if __name__ == "__main__":
    sys.exit(run_consumer("primary", bot.handle, shadow=False))
