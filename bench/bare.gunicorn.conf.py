"""The gateway's gunicorn configuration minus its hooks, which only make sense for the gateway app."""

import os as _os

# The configuration validates the gateway's settings; the bare app verifies nothing, so any secret does.
_os.environ.setdefault("SLACK_SIGNING_SECRET", "unused-by-the-bare-app")

from gateway.gunicorn_config import *  # noqa: F403

del post_worker_init, worker_exit  # noqa: F821
wsgi_app = "bench.bare_app:app"
