"""``python -m consumers.shadow``: the candidate bot on queue ``slack.shadow``; Slack calls only recorded."""

import sys

from consumers import bot
from consumers.app import run_consumer

if __name__ == "__main__":
    sys.exit(run_consumer("shadow", bot.handle, shadow=True))
