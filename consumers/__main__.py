"""``python -m consumers run NAME …``: the older spelling of ``slack-fanout consume NAME …``."""

import sys

from consumers.cli import main

arguments = sys.argv[1:]
sys.exit(main(arguments[1:] if arguments[:1] == ["run"] else arguments))
