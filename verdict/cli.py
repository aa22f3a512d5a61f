"""``slack-fanout verdict``: is the candidate's behaviour in Slack the primary's? Exit status says.

Reads the behaviour records from the broker's ``slack.behaviour`` stream (or from
JSON-lines files), joins the primary's and the candidate's per request, and prints the
verdict per endpoint and field. ``--follow`` keeps reading; ``--serve`` shows the verdict
as a web page; ``--metrics-port`` serves it to Prometheus.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from slack_fanout.amqp import LoginRefused
from slack_fanout.exit_codes import ExitCode
from slack_fanout.logs import configure_logging
from slack_fanout.replay_window import instant
from slack_fanout.settings import AppSettings, ConfigError, load_settings, secret_values
from verdict.join import Roles
from verdict.output import render_json, render_text, totals
from verdict.report import Status
from verdict.rules import InvalidConfig, Rules, Thresholds, load_rules
from verdict.session import Session
from verdict.stream import NoBehaviourStream, StreamUnavailable, read_stream

EXIT_CODES = {
    Status.SAFE: ExitCode.OK,
    Status.DIFFERS: ExitCode.DIFFERS,
    Status.INCOMPLETE: ExitCode.UNSAFE,
    Status.ESCAPED: ExitCode.UNSAFE,
}
"""The verdict's status as the exit status, from the one table of every command (docs/cli.md)."""
SOURCE_ERRORS: dict[type[Exception], ExitCode] = {
    LoginRefused: ExitCode.LOGIN_REFUSED,
    StreamUnavailable: ExitCode.UNREACHABLE,
    NoBehaviourStream: ExitCode.DECLARATIONS,
    OSError: ExitCode.CONFIG,
}
"""Why records could not be read: the broker's answers, or a ``--file`` that is not there."""
PROGRESS_EVERY_S = 10.0


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text}: give seconds from 0 to 86400")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text}: give a TCP port from 0 (any free one) to 65535")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give a count of 1 or more")
    return value


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        session = _session(arguments)
        settings = load_settings(AppSettings)
    except (InvalidConfig, ConfigError, ValueError) as error:
        return _failed(error, ExitCode.CONFIG)
    configure_logging(settings.log_level)
    stop = threading.Event()
    with ExitStack() as resources:
        resources.enter_context(_stopped_by_signals(stop))
        try:
            save = _open_outputs(resources, session, arguments)
        except OSError as error:
            return _failed(error, ExitCode.CONFIG)
        try:
            _read(session, _records(arguments, session, settings, stop), save, arguments.follow)
        except tuple(SOURCE_ERRORS) as error:
            return _failed(
                error, next(code for kind, code in SOURCE_ERRORS.items() if isinstance(error, kind))
            )
        if arguments.serve is not None and not stop.is_set():
            print(
                "slack-fanout verdict: all records read; serving the page until interrupted", file=sys.stderr
            )
            stop.wait()
    verdict = session.verdict()
    sys.stdout.write(render_json(verdict) + "\n" if arguments.json else render_text(verdict))
    return EXIT_CODES[verdict.status]


def _failed(error: object, code: ExitCode) -> ExitCode:
    print(f"slack-fanout verdict: {error}", file=sys.stderr)
    return code


def _open_outputs(resources: ExitStack, session: Session, arguments: argparse.Namespace) -> IO[bytes] | None:
    """Start the page and the metrics server, open the ``--save`` file; all closed with ``resources``."""
    if arguments.serve is not None:
        from verdict.web import serve_page

        url = resources.enter_context(serve_page(session, arguments.host, arguments.serve, arguments.follow))
        print(f"slack-fanout verdict: the page is at {url}", file=sys.stderr)
    if arguments.metrics_port is not None:
        from verdict.metrics import serve_metrics

        resources.enter_context(serve_metrics(session, arguments.host, arguments.metrics_port))
    return resources.enter_context(arguments.save.open("ab")) if arguments.save else None


def _session(arguments: argparse.Namespace) -> Session:
    rules = load_rules(arguments.config) if arguments.config else Rules()
    thresholds = Thresholds(
        relative=_or(arguments.relative_threshold, rules.thresholds.relative),
        absolute=_or(arguments.absolute_threshold, rules.thresholds.absolute),
        missing=_or(arguments.missing_threshold, rules.thresholds.missing),
    )
    if arguments.follow and arguments.file:
        raise ValueError("--follow reads the stream; it cannot follow files")
    return Session(
        Roles(arguments.primary, arguments.candidate, arguments.secondary),
        Rules(thresholds, rules.ignore),
        join_timeout=timedelta(seconds=arguments.join_timeout),
        since=instant(arguments.since, datetime.now(UTC)) if arguments.since else None,
        samples_per_field=arguments.samples,
    )


def _or(option: float | None, configured: float) -> float:
    if option is not None and not 0 <= option <= 100:
        raise ValueError(f"a threshold is a percent from 0 to 100, not {option}")
    return configured if option is None else option


def _records(
    arguments: argparse.Namespace, session: Session, settings: AppSettings, stop: threading.Event
) -> Iterator[bytes | None]:
    if arguments.file:
        return _file_records(arguments.file)
    return read_stream(
        secret_values(settings.amqp_url)[0],
        since=session.since,
        follow=arguments.follow,
        idle_s=arguments.idle,
        stop=stop,
    )


def _file_records(paths: list[str]) -> Iterator[bytes | None]:
    """JSON lines, one record per line (``-``: standard input); blank lines are skipped."""
    for path in paths:
        with sys.stdin.buffer if path == "-" else Path(path).open("rb") as lines:
            yield from (line.strip() for line in lines if line.strip())


def _read(session: Session, records: Iterator[bytes | None], save: IO[bytes] | None, follow: bool) -> None:
    last_progress = datetime.now(UTC)
    for data in records:
        if data is None:
            session.expire()
        else:
            session.feed(data)
            if save is not None:
                save.write(data + b"\n")
        if follow and (datetime.now(UTC) - last_progress).total_seconds() >= PROGRESS_EVERY_S:
            last_progress = datetime.now(UTC)
            print(totals(session.verdict()), file=sys.stderr)
    session.expire()
    if save is not None:
        save.flush()


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM end the reading (and the page) cleanly, and the verdict is still printed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slack-fanout verdict",
        description=__doc__.split("\n\n")[0],
        epilog="exit status: 0 safe, 1 the candidate differs, 9 unsafe (records missing, nothing judged, "
        "or the candidate escaped the capture); 2, 4, 5, 6 as every command (slack-fanout --help)",
    )
    roles = parser.add_argument_group("consumers")
    roles.add_argument("--primary", default="primary", help="the consumer in production (default: primary)")
    roles.add_argument("--candidate", default="shadow", help="the consumer on trial (default: shadow)")
    roles.add_argument("--secondary", help="a shadow running the primary's code: its differences are noise")
    source = parser.add_argument_group("records")
    source.add_argument(
        "--file",
        action="append",
        metavar="PATH",
        help="read JSON lines from PATH (- for stdin) instead of the stream; repeatable",
    )
    source.add_argument(
        "--since", metavar="WHEN", help="only requests received since WHEN: 30m, 2h, 1d, or ISO 8601"
    )
    source.add_argument("--follow", action="store_true", help="keep reading the stream until interrupted")
    source.add_argument(
        "--idle",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="without --follow: stop once the stream was quiet this long (default: 2)",
    )
    source.add_argument(
        "--join-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="judge a request this long after the gateway received it, records or not (default: 60)",
    )
    source.add_argument(
        "--save",
        type=Path,
        metavar="PATH",
        help="append every record read to PATH as JSON lines, to judge again offline",
    )
    judging = parser.add_argument_group("judging")
    judging.add_argument(
        "--config", type=Path, help="TOML file of ignore rules and thresholds (see docs/shadow.md)"
    )
    judging.add_argument("--relative-threshold", type=float, metavar="PERCENT", help="default 20 (Diffy's)")
    judging.add_argument("--absolute-threshold", type=float, metavar="PERCENT", help="default 0.03 (Diffy's)")
    judging.add_argument(
        "--missing-threshold",
        type=float,
        metavar="PERCENT",
        help="share of requests a side may miss before the verdict is incomplete (default: 0)",
    )
    judging.add_argument(
        "--samples", type=_count, default=3, help="requests kept per differing field (default: 3)"
    )
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the verdict as JSON")
    output.add_argument("--serve", type=_port, metavar="PORT", help="serve the verdict as a web page on PORT")
    output.add_argument("--metrics-port", type=_port, metavar="PORT", help="serve Prometheus metrics on PORT")
    output.add_argument("--host", default="127.0.0.1", help="address for --serve and --metrics-port")
    return parser
