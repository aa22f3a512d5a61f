"""Handles on the test broker and on a test's own vhost."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from slack_fanout.topology import INBOUND_EXCHANGE
from testbed.management import BrokerAdmin, quote
from testbed.waiting import eventually


def bind_to_inbound(channel: BlockingChannel, *queues: str, arguments: dict[str, Any] | None = None) -> None:
    """``queues`` declared, durable, and bound to the gateway's exchange (declared too, as
    ``slack-fanout apply`` does): a test's stand-ins for consumers."""
    channel.exchange_declare(INBOUND_EXCHANGE, "fanout", durable=True)
    for queue in queues:
        channel.queue_declare(queue, durable=True, arguments=arguments)
        channel.queue_bind(queue, INBOUND_EXCHANGE)


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str
    password: str
    management: BrokerAdmin

    def amqp_url(self, vhost: str, port: int | None = None) -> str:
        """The URL of ``vhost``; through ``port`` when given (a proxy in front of this broker, a "node")."""
        user = urllib.parse.quote(self.username, safe="")
        password = urllib.parse.quote(self.password, safe="")
        address = f"{self.host}:{self.port if port is None else port}"
        return f"amqp://{user}:{password}@{address}/{urllib.parse.quote(vhost, safe='')}"

    def virtual_host(self, name: str, connection_name: str) -> VirtualHost:
        return VirtualHost(
            name=name,
            amqp_url=self.amqp_url(name),
            management=self.management,
            connection_name=connection_name,
        )


@dataclass(frozen=True)
class VirtualHost:
    name: str
    amqp_url: str
    management: BrokerAdmin
    connection_name: str

    @contextmanager
    def channel(self) -> Iterator[BlockingChannel]:
        """A channel on a connection labelled with the test's id, closed afterwards."""
        parameters = pika.URLParameters(self.amqp_url)
        parameters.client_properties = {"connection_name": self.connection_name}
        connection = pika.BlockingConnection(parameters)
        try:
            yield connection.channel()
        finally:
            if connection.is_open:  # the broker closes it after a reject on a stream (behaviour.all_records)
                connection.close()

    def bind_to_inbound(self, *queues: str, arguments: dict[str, Any] | None = None) -> tuple[str, ...]:
        """``bind_to_inbound`` in this vhost; returns the queues."""
        with self.channel() as channel:
            bind_to_inbound(channel, *queues, arguments=arguments)
        return queues

    def drain(self, queue: str) -> list[bytes]:
        """Every message now in ``queue``, removed from it, oldest first."""
        return [body for body, _headers in self.drain_with_headers(queue)]

    def drain_with_headers(self, queue: str) -> list[tuple[bytes, dict[str, Any]]]:
        """``drain``, each body with its message's headers."""
        messages: list[tuple[bytes, dict[str, Any]]] = []
        with self.channel() as channel:
            while True:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    return messages
                messages.append((body, properties.headers or {}))

    def close_client_connections(self, timeout: float = 15) -> int:
        """Have the broker close every client connection to this vhost (as a network fault would).

        The management API lists a connection only once its stats arrive, so wait for one.
        """
        connections = eventually(
            lambda: self.management.get(f"vhosts/{quote(self.name)}/connections"),
            f"a client connection to vhost {self.name} listed",
            timeout,
            interval=0.2,
        )
        for connection in connections:
            self.management.delete(f"connections/{quote(connection['name'])}")
        return len(connections)

    def queue_depth(self, queue: str) -> int:
        with self.channel() as channel:
            return channel.queue_declare(queue, passive=True).method.message_count


def publish(vhost: VirtualHost, body: bytes, exchange: str = "slack.inbound") -> None:
    """A persistent, confirmed publish, as the gateway does it."""
    with vhost.channel() as channel:
        channel.confirm_delivery()
        channel.basic_publish(exchange, "", body, pika.BasicProperties(delivery_mode=2), mandatory=True)
