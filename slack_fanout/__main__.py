"""``python -m slack_fanout COMMAND …``: the ``slack-fanout`` command where the script is not on the PATH."""

import sys

from slack_fanout.cli import main

sys.exit(main())
