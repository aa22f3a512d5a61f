"""Running a consumer app: settings, logging, side effects and the runtime, put together once."""

from __future__ import annotations

import logging
import sys

from consumers.handlers import Handler
from consumers.runtime import Consumer, ConsumerConfig, SideEffects
from consumers.settings import ConsumerSettings
from consumers.slack_actions import LiveSlack, RecordingSlack
from slack_fanout.logs import configure_logging
from slack_fanout.settings import ConfigError, load_settings
from slack_fanout.topology import InvalidConsumerName, check_consumer_name

RET_OK = 0
RET_CONFIG = 2
RET_HANDLER = 3


def run_consumer(name: str, handler: Handler, shadow: bool, prefetch: int | None = None) -> int:
    """Consume queue ``slack.<name>`` until stopped; returns the process exit code."""
    try:
        check_consumer_name(name)
        settings = load_settings(ConsumerSettings)
    except (ConfigError, InvalidConsumerName) as error:
        print(f"slack-fanout consumer: {error}", file=sys.stderr)
        return RET_CONFIG
    configure_logging(settings.log_level)
    config = ConsumerConfig(
        name=name,
        amqp_url=settings.amqp_url.get_secret_value(),
        prefetch=prefetch or settings.consumer_prefetch,
    )
    logging.getLogger(__name__).info("starting", extra={"consumer": name, "shadow": shadow})
    Consumer(config, handler, _side_effects(settings, shadow)).run()
    return RET_OK


def _side_effects(settings: ConsumerSettings, shadow: bool) -> SideEffects:
    if shadow:
        return RecordingSlack
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return lambda log: LiveSlack(token, settings.slack_api_url, log)
