"""gunicorn configuration: ``gunicorn -c gateway/gunicorn.conf.py [-b HOST:PORT]``.

gunicorn reads every module-level name here as a setting, so the hooks import what they
need themselves. The settings are validated once, in the master, before any worker forks.
"""

import os as _os
import shutil as _shutil
import sys as _sys
import tempfile as _tempfile

# Workers add up their metrics through files there; set before prometheus_client is imported.
_OWN_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR" not in _os.environ
if _OWN_METRICS_DIR:
    _os.environ["PROMETHEUS_MULTIPROC_DIR"] = _tempfile.mkdtemp(prefix="slack-fanout-metrics-")

wsgi_app = "gateway.app:create_app()"
bind = ["0.0.0.0:8000"]
workers = int(_os.environ.get("WEB_CONCURRENCY", "2"))
# Threads wait on their confirms while one publisher thread per worker pipelines them all.
worker_class = "gthread"
threads = int(_os.environ.get("GATEWAY_THREADS", "32"))
timeout = 30
graceful_timeout = 10
keepalive = 5
# Several gateways may run on one host (tests, benchmarks); none needs the control socket.
control_socket_disable = True


def on_starting(server):
    """Refuse to start on bad configuration, with one readable line rather than a worker crash loop."""
    from gateway.settings import GatewaySettings
    from slack_fanout.logs import configure_logging
    from slack_fanout.settings import ConfigError, load_settings

    try:
        settings = load_settings(GatewaySettings)
    except ConfigError as error:
        print(f"slack-fanout gateway: {error}", file=_sys.stderr)
        _sys.exit(2)
    configure_logging(settings.log_level)


def post_worker_init(worker):
    """Connect and declare the exchange now; an unreachable broker means 503s until it is back."""
    from gateway.extensions import publisher_of

    publisher_of(worker.wsgi).start()


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
