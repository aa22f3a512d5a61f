"""The baseline design: the gateway app with one blocking, confirmed publish per request."""

from bench.naive_publisher import BlockingPublisher
from gateway.app import create_app
from gateway.settings import GatewaySettings
from slack_fanout.settings import load_settings, secret_values


def create_naive_app():
    settings = load_settings(GatewaySettings)
    return create_app(
        settings,
        publisher=BlockingPublisher(secret_values(settings.amqp_url)[0], settings.publish_timeout_seconds),
    )
