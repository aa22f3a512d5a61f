"""Handles on the test broker and on a test's own vhost."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel

from tests.support.management import ManagementApi


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str
    password: str
    management: ManagementApi

    def amqp_url(self, vhost: str) -> str:
        user = urllib.parse.quote(self.username, safe="")
        password = urllib.parse.quote(self.password, safe="")
        return f"amqp://{user}:{password}@{self.host}:{self.port}/{urllib.parse.quote(vhost, safe='')}"

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
    management: ManagementApi
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
            connection.close()

    def drain(self, queue: str) -> list[bytes]:
        """Every message now in ``queue``, removed from it, oldest first."""
        bodies = []
        with self.channel() as channel:
            while True:
                method, _properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    return bodies
                bodies.append(body)

    def queue_depth(self, queue: str) -> int:
        with self.channel() as channel:
            return channel.queue_declare(queue, passive=True).method.message_count
