"""``slack-fanout replay --into NAME --since 2h``: archived requests again, into one consumer's queue.

Reads the ``slack.archive`` stream over a window (``--since 2h``, or ``--since``/``--until``
timestamps; the window ends when the command starts unless ``--until`` says otherwise),
keeps the requests of ``--kind`` and ``--endpoint`` if given, and publishes each, confirmed
and with its original message id, into ``slack.NAME`` only. It stops by itself at the end
of the window. The consumer's dedupe ledger skips the requests it had already handled.

AMQP_URL must name a user that may read the archive and write the default exchange
(``admin``); replaying into the primary needs ``--yes``, since it acts in Slack again on
whatever it had not handled.
"""

from __future__ import annotations

import argparse
import sys

from pika.exceptions import AMQPConnectionError

from slack_fanout.amqp import LoginRefused
from slack_fanout.archive import STREAM_SLACK, ArchiveCopier, ReplayRefused
from slack_fanout.envelope import DecodeError, Envelope, Kind, utc_now
from slack_fanout.exit_codes import ExitCode
from slack_fanout.logs import configure_logging
from slack_fanout.progress import Progress
from slack_fanout.replay_window import InvalidWindow, Selection, Tally, Window
from slack_fanout.settings import AppSettings, ConfigError, load_settings, secret_values
from slack_fanout.topology import REPLYING_CONSUMERS, InvalidConsumerName, consumer_queue


def replay(amqp_url: str, queue: str, selection: Selection, progress: Progress) -> Tally:
    """Copy the selected requests into ``queue``; the tally of what was read, published and skipped."""
    tally = Tally()
    replayed_at = utc_now()
    with ArchiveCopier(amqp_url, queue) as copier:
        marker = copier.mark_end()
        for body, properties in copier.read(selection.window.start, marker):
            tally.read += 1
            try:
                envelope = Envelope.decode(body)
            except DecodeError:
                tally.skipped += 1
                continue
            tally.at = envelope.received_at
            if envelope.received_at > selection.window.end + STREAM_SLACK:
                tally.skipped += 1
                break  # past the window: what follows is later still
            if selection.matches(envelope):
                tally.matched += 1
                copier.copy(body, envelope.id, properties, replayed_at)
                tally.published += 1
            else:
                tally.skipped += 1
            progress.update(tally)
    progress.finish(tally)
    return tally


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        queue = consumer_queue(arguments.into)
        if arguments.into in REPLYING_CONSUMERS and not arguments.yes:
            raise ConfigError(f"{queue} is the production bot's queue: it would act in Slack again on every "
                              "request it has not handled; add --yes to replay into it")  # fmt: skip
        window = Window.parse(arguments.since, arguments.until, utc_now())
        selection = Selection(window, frozenset(arguments.kind), tuple(arguments.endpoint))
        settings = load_settings(AppSettings)
    except (ConfigError, InvalidWindow, InvalidConsumerName) as error:
        return _refused(error, ExitCode.CONFIG)
    configure_logging(settings.log_level)  # pika's own lines only at DEBUG
    try:
        tally = replay(secret_values(settings.amqp_url)[0], queue, selection, Progress(sys.stderr, window))
    except LoginRefused as error:
        return _refused(error, ExitCode.LOGIN_REFUSED)
    except ReplayRefused as error:
        return _refused(error, ExitCode.DECLARATIONS)
    except AMQPConnectionError as error:
        return _refused(f"cannot reach the broker: {type(error).__name__}", ExitCode.UNREACHABLE)
    print(f"replayed into {queue}: {tally.summary()}")
    return ExitCode.OK


def _refused(error: object, code: ExitCode) -> ExitCode:
    print(f"slack-fanout replay: {error}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slack-fanout replay", description=__doc__.split("\n\n")[1])
    parser.add_argument("--into", required=True, metavar="NAME", help="the consumer: its queue is slack.NAME")
    parser.add_argument("--since", required=True, help="a duration before now (30m, 2h, 1d) or a timestamp")
    parser.add_argument("--until", help="a duration before now or a timestamp (default: now, at the start)")
    parser.add_argument("--kind", action="append", default=[], type=Kind, choices=list(Kind),
                        help="only requests of this kind (repeatable)")  # fmt: skip
    parser.add_argument("--endpoint", action="append", default=[], metavar="KEY",
                        help="only this endpoint ('command:/deploy'; wildcards: 'event:*')")  # fmt: skip
    parser.add_argument("--yes", action="store_true", help="replay into the primary (it acts in Slack again)")
    return parser
