"""``python -m consumers.shadow``: the candidate bot on queue ``slack.shadow``; Slack calls only recorded."""

import sys

from consumers.app import Target
from consumers.cli import run

if __name__ == "__main__":
    sys.exit(run("shadow", Target(handler="consumers.bot:handle"), shadow=True))
