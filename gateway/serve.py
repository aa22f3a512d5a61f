"""``slack-fanout gateway [GUNICORN OPTIONS]``: gunicorn with the packaged configuration, from any directory.

Options are gunicorn's own and override the configuration (``-b 127.0.0.1:8080``, ``-w 4``,
``--access-logfile -``); ``slack-fanout gateway --help`` lists them. Settings come from the
environment (docs/cli.md).
"""

from __future__ import annotations

import sys

CONFIG = "python:gateway.gunicorn_config"
PROG = "slack-fanout gateway"


def main(argv: list[str]) -> int:
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = [PROG, "-c", CONFIG, *argv]  # gunicorn parses sys.argv itself; a later -c still wins
    usage = "%(prog)s [GUNICORN OPTIONS]: gunicorn with the gateway's packaged configuration"
    WSGIApplication(usage, prog=PROG).run()
    return 0  # gunicorn exits itself, with the master's status
