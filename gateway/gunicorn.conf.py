"""``gunicorn -c gateway/gunicorn.conf.py`` in a checkout: the packaged ``gateway.gunicorn_config``.

Prefer ``slack-fanout gateway``, which finds it from any directory.
"""

from gateway.gunicorn_config import *  # noqa: F403  (gunicorn reads the module's names as settings)
