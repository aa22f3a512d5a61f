"""gunicorn configuration, importable from the installed package: ``slack-fanout gateway [-b HOST:PORT]``.

``slack-fanout gateway`` runs gunicorn with ``-c python:gateway.gunicorn_config``; in a
checkout, ``gunicorn -c gateway/gunicorn.conf.py`` still loads this same module. gunicorn
reads every module-level name here as a setting, so other names start with ``_``. The
settings and the broker login are checked once, here, in the master, before gunicorn starts:
a bad setting or a refused login stops the gateway with one line and its exit code
(docs/cli.md), never a traceback or a crash loop of workers.
"""

import os as _os
import shutil as _shutil
import sys as _sys
import tempfile as _tempfile

# Workers add up their metrics through files there. It must be set before prometheus_client is
# imported, and the settings import it (through the publisher's configuration): so, first.
_OWN_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR" not in _os.environ
if _OWN_METRICS_DIR:
    _os.environ["PROMETHEUS_MULTIPROC_DIR"] = _tempfile.mkdtemp(prefix="slack-fanout-metrics-")

import logging as _logging  # noqa: E402

import pika as _pika  # noqa: E402
from pika.exceptions import ChannelClosedByBroker as _ChannelClosedByBroker  # noqa: E402

from gateway.publisher import EXCHANGE_MISSING as _EXCHANGE_MISSING  # noqa: E402
from gateway.settings import GatewaySettings as _GatewaySettings  # noqa: E402
from slack_fanout.amqp import LoginRefused as _LoginRefused  # noqa: E402
from slack_fanout.amqp import check_login as _check_login  # noqa: E402
from slack_fanout.amqp import ensure_inbound_exchange as _ensure_inbound_exchange  # noqa: E402
from slack_fanout.exit_codes import ExitCode as _ExitCode  # noqa: E402
from slack_fanout.logs import configure_logging as _configure_logging  # noqa: E402
from slack_fanout.settings import ConfigError as _ConfigError  # noqa: E402
from slack_fanout.settings import load_settings as _load_settings  # noqa: E402
from slack_fanout.settings import secret_values as _secret_values  # noqa: E402


def _settings_or_exit() -> _GatewaySettings:
    """The settings, or one line and exit code 2."""
    try:
        return _load_settings(_GatewaySettings)
    except _ConfigError as error:
        print(f"slack-fanout gateway: {error}", file=_sys.stderr)
        _sys.exit(_ExitCode.CONFIG)


def _login_or_exit(settings: _GatewaySettings) -> None:
    """Stop at once, with one line and exit code 5, when the broker refuses the login: no worker could
    ever publish. An unreachable broker is no reason to stop: the workers keep trying (503 meanwhile)."""
    try:
        for url in _secret_values(settings.amqp_url):  # the first node that answers says
            if _check_login(url, "slack-fanout gateway login check", then=_exchange_where_permitted):
                break
    except _LoginRefused as error:
        print(f"slack-fanout gateway: {error}", file=_sys.stderr)
        _sys.exit(_ExitCode.LOGIN_REFUSED)


def _exchange_where_permitted(connection: "_pika.BlockingConnection") -> None:
    """A broker booted without the definitions (a development one) has no exchange: declared here
    where the gateway's user may. Where it may not, the workers stay not ready and say which command
    creates it; the publishers themselves only ever check it."""
    try:
        _ensure_inbound_exchange(connection)
    except _ChannelClosedByBroker as error:
        _logging.getLogger("gateway").warning(_EXCHANGE_MISSING, extra={"broker": error.reply_text})


_settings = _settings_or_exit()
_configure_logging(_settings.log_level)
_login_or_exit(_settings)

wsgi_app = "gateway.app:create_app()"
bind = ["0.0.0.0:8000"]
workers = _settings.web_concurrency
# One event loop per worker: each request a greenlet that waits on its confirm (or reply) while
# the publisher, a greenlet too, pipelines them all (docs/architecture.md, "The gateway's publisher").
worker_class = "gevent"
worker_connections = _settings.gateway_connections
timeout = 30
graceful_timeout = 10
keepalive = 5
# Several gateways may run on one host (tests, benchmarks); none needs the control socket.
control_socket_disable = True


def post_worker_init(worker):
    """Connect now (an unreachable broker means 503s until it is back); then keep the collector's full
    passes off the app this worker has built (``slack_fanout.startup_heap``)."""
    from gateway.extensions import publisher_of
    from slack_fanout.startup_heap import freeze_startup_heap

    publisher_of(worker.wsgi).start()
    freeze_startup_heap()


def worker_exit(server, worker):
    """After the last request of this worker was answered: let the broker confirm, then disconnect."""
    from gateway.extensions import publisher_of

    publisher_of(worker.wsgi).close()


def child_exit(server, worker):
    from gateway.metrics import worker_gone

    worker_gone(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        _shutil.rmtree(_os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
