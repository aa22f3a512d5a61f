"""``python -m verdict``, the same as ``slack-fanout verdict``."""

import sys

from verdict.cli import main

sys.exit(main())
