"""``python -m gateway.socket_mode``: the Socket Mode ingress, until SIGTERM or SIGINT.

Opens ``SOCKET_MODE_CONNECTIONS`` WebSocket connections to Slack with the app-level token
(``SLACK_APP_TOKEN`` or ``SLACK_APP_TOKEN_FILE``) and publishes every envelope to the
``slack.inbound`` exchange, as the HTTP gateway publishes every request.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from gateway.publisher import Publisher
from gateway.socket_mode.connection import IngressStopped
from gateway.socket_mode.health import HealthServer
from gateway.socket_mode.ingress import SocketIngress
from gateway.socket_mode.settings import SocketModeSettings
from slack_fanout.exit_codes import ExitCode
from slack_fanout.logs import configure_logging
from slack_fanout.settings import ConfigError, load_settings
from slack_fanout.startup_heap import freeze_startup_heap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slack-fanout socket", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    try:
        settings = load_settings(SocketModeSettings)
    except ConfigError as error:
        print(f"slack-fanout socket: {error}", file=sys.stderr)
        return ExitCode.CONFIG
    configure_logging(settings.log_level)
    # The client's own lines (each connect, close and receive loop) are the ingress's "socket …" lines.
    logging.getLogger("slack_sdk").setLevel(
        logging.DEBUG if settings.log_level.upper() == "DEBUG" else logging.WARNING
    )
    ingress = SocketIngress(settings, Publisher(settings.publisher_config()))
    try:
        health = HealthServer(
            settings.socket_mode_health_host, settings.socket_mode_health_port, ingress.ready
        )
    except OSError as error:
        print(f"slack-fanout socket: SOCKET_MODE_HEALTH_PORT: {error.strerror}", file=sys.stderr)
        return ExitCode.CONFIG
    health.start()
    _stop_on_signals(ingress)
    freeze_startup_heap()
    try:
        ingress.run()
    except IngressStopped as error:
        print(f"slack-fanout socket: {error}", file=sys.stderr)
        return error.exit_code
    finally:
        health.close()
    return ExitCode.OK


def _stop_on_signals(ingress: SocketIngress) -> None:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        ingress.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
