"""A consumer app put together once: settings, logging, handler, side effects and the runtime."""

from __future__ import annotations

import logging

from consumers import metrics
from consumers.dedupe import Ledger
from consumers.dispatch import Dispatcher
from consumers.handlers import load_handler
from consumers.runtime import Consumer, ConsumerConfig
from consumers.settings import ConsumerSettings
from consumers.slack_actions import RecordingSlack, SideEffects, live_slack
from slack_fanout.logs import configure_logging
from slack_fanout.settings import load_settings
from slack_fanout.topology import check_consumer_name

log = logging.getLogger(__name__)


def serve(name: str, handler_reference: str, *, shadow: bool = False, prefetch: int | None = None) -> None:
    """Consume queue ``slack.<name>`` until SIGTERM or SIGINT.

    Everything is checked before the first connection: raises ``InvalidConsumerName``,
    ``ConfigError`` or ``HandlerNotFound`` for a consumer that could never work, and
    ``DeclarationRefused`` when the broker's objects disagree with the topology.
    """
    check_consumer_name(name)
    overrides = {} if prefetch is None else {"consumer_prefetch": prefetch}
    settings = load_settings(ConsumerSettings, **overrides)
    handler = load_handler(handler_reference)
    configure_logging(settings.log_level)
    shadow = shadow or settings.consumer_shadow
    log.info(
        "starting",
        extra={"consumer": name, "handler": handler_reference, "shadow": shadow,
               "prefetch": settings.consumer_prefetch},
    )  # fmt: skip
    config = ConsumerConfig(
        name,
        settings.amqp_url.get_secret_value(),
        settings.consumer_prefetch,
        concurrency=settings.consumer_concurrency,
        retry_delays_ms=settings.consumer_retry_delays_ms,
    )
    if settings.consumer_metrics_port:
        metrics.serve(settings.consumer_metrics_port)
    ledger = Ledger(settings.consumer_state_dir / f"{name}.sqlite3")
    try:
        Consumer(config, Dispatcher(name, handler, _side_effects(settings, shadow), ledger)).run()
    finally:
        ledger.close()


def _side_effects(settings: ConsumerSettings, shadow: bool) -> SideEffects:
    if shadow:
        return RecordingSlack
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return live_slack(token, settings.slack_api_url)
