"""A consumer app put together once: settings, logging, handler, side effects and the runtime."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from consumers import capture, metrics
from consumers.dedupe import Ledger
from consumers.dispatch import Dispatcher, ReplyMode
from consumers.handlers import Handler, load_callable
from consumers.records import BehaviourRecorder
from consumers.replay import HttpForward, Replayer, WsgiReplay
from consumers.runtime import Consumer, ConsumerConfig
from consumers.settings import ConsumerSettings
from consumers.slack_actions import RecordingSlack, SideEffects, live_slack
from slack_fanout.logs import configure_logging
from slack_fanout.settings import load_settings, secret_values
from slack_fanout.startup_heap import freeze_startup_heap
from slack_fanout.topology import check_consumer_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """What each message goes to: exactly one of a handler, a WSGI app or a URL (``package.module:name``
    for the first two)."""

    handler: str | None = None
    wsgi: str | None = None
    forward: str | None = None


def serve(
    name: str, target: Target, *, shadow: bool = False, reply: bool = False, prefetch: int | None = None
) -> None:
    """Consume queue ``slack.<name>`` until SIGTERM or SIGINT.

    Everything is checked before the first connection: raises ``InvalidConsumerName``,
    ``ConfigError``, ``HookPointMoved`` (slack_sdk cannot be captured) or ``HandlerNotFound``
    for a consumer that could never work, and ``DeclarationRefused`` when the broker's
    objects disagree with the topology. The capture is installed before the target is
    imported: a Bolt app calls Slack (``auth.test``) as it is built.
    """
    check_consumer_name(name)
    overrides = {
        key: value
        for key, value in (("consumer_prefetch", prefetch), ("consumer_shadow", shadow or None),
                           ("consumer_reply", reply or None))
        if value is not None
    }  # fmt: skip
    settings = load_settings(ConsumerSettings, **overrides)
    configure_logging(settings.log_level)
    capture.install(_capture_config(name, settings))
    capture.record_logged_exceptions()
    handler = _handler(target, settings)
    log.info(
        "starting",
        extra={"consumer": name, "target": target.handler or target.wsgi or target.forward,
               "shadow": settings.consumer_shadow, "reply": settings.consumer_reply,
               "prefetch": settings.consumer_prefetch},
    )  # fmt: skip
    config = ConsumerConfig(
        name,
        secret_values(settings.amqp_url),
        settings.consumer_prefetch,
        concurrency=settings.consumer_concurrency,
        retry_delays_ms=settings.consumer_retry_delays_ms,
        behaviour_records=settings.consumer_behaviour_records,
    )
    if settings.consumer_metrics_port:
        metrics.serve(settings.consumer_metrics_port)
    ledger = Ledger(settings.consumer_state_dir / f"{name}.sqlite3")
    dispatcher = Dispatcher(
        name, handler, _side_effects(settings), ledger, _reply_mode(settings), settings.consumer_log_handled,
        _recorder(name, settings, calls_captured=target.forward is None),
    )  # fmt: skip
    freeze_startup_heap()  # the hosted bot is built: keep the collector's full passes off it
    try:
        Consumer(config, dispatcher).run()
    finally:
        ledger.close()


def _handler(target: Target, settings: ConsumerSettings) -> Handler:
    if target.handler is not None:
        return load_callable(target.handler)
    secret = settings.slack_signing_secret
    replayer = Replayer(secret.get_secret_value() if secret else None)
    if target.wsgi is not None:
        return WsgiReplay(load_callable(target.wsgi, "--wsgi"), replayer)
    assert target.forward is not None
    timeout = settings.consumer_forward_timeout_seconds
    return HttpForward(target.forward, replayer, timeout, connections=settings.consumer_concurrency)


def _capture_config(name: str, settings: ConsumerSettings) -> capture.CaptureConfig:
    return capture.CaptureConfig(
        consumer=name,
        shadow=settings.consumer_shadow,
        base_url=settings.consumer_slack_base_url,
        pass_through=frozenset(settings.consumer_shadow_pass_through),
        correlate=settings.consumer_behaviour_records,
    )


def _recorder(name: str, settings: ConsumerSettings, calls_captured: bool) -> BehaviourRecorder | None:
    if not settings.consumer_behaviour_records:
        return None
    return BehaviourRecorder(
        name,
        settings.consumer_code_version,
        settings.consumer_shadow,
        settings.consumer_settle_timeout_seconds,
        calls_captured,
    )


def _reply_mode(settings: ConsumerSettings) -> ReplyMode:
    if settings.consumer_shadow:
        return ReplyMode.RECORD
    return ReplyMode.SEND if settings.consumer_reply else ReplyMode.DISCARD


def _side_effects(settings: ConsumerSettings) -> SideEffects:
    if settings.consumer_shadow:
        return RecordingSlack
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return live_slack(token, settings.slack_api_url)
