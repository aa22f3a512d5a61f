"""The RabbitMQ management HTTP API for test set-up and assertions: the product's client
(``slack_fanout.management``) plus what tests need of it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pydantic import SecretStr

from slack_fanout import management
from slack_fanout.management import quote

__all__ = ["BrokerAdmin", "quote"]


@dataclass(frozen=True)
class BrokerAdmin:
    base_url: str
    username: str
    password: str

    @functools.cached_property
    def _client(self) -> management.ManagementApi:
        return management.ManagementApi(self.base_url, self.username, SecretStr(self.password))

    def request(self, method: str, path: str, body: Any = None) -> Any:
        return self._client.request(method, path, body)

    def get(self, path: str) -> Any:
        return self._client.get(path)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> None:
        """Gone already is as good as deleted."""
        try:
            self.request("DELETE", path)
        except management.ManagementHttpError as error:
            if error.code != HTTPStatus.NOT_FOUND:
                raise

    def create_vhost(self, vhost: str) -> None:
        self.put(f"vhosts/{quote(vhost)}", {})
        self.put(
            f"permissions/{quote(vhost)}/{quote(self.username)}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )

    def delete_vhost(self, vhost: str) -> None:
        self.delete(f"vhosts/{quote(vhost)}")

    def queue(self, vhost: str, name: str) -> dict[str, Any]:
        return self.get(f"queues/{quote(vhost)}/{quote(name)}")

    def queue_names(self, vhost: str) -> set[str]:
        return {queue["name"] for queue in self.get(f"queues/{quote(vhost)}")}
