"""A small client for the RabbitMQ management HTTP API, for test set-up and assertions."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ManagementApi:
    base_url: str
    username: str
    password: str

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url.rstrip('/')}/api/{path}", data=data, method=method)
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> None:
        try:
            self.request("DELETE", path)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise

    def create_vhost(self, vhost: str) -> None:
        self.put(f"vhosts/{quote(vhost)}", {})
        self.put(
            f"permissions/{quote(vhost)}/{quote(self.username)}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )

    def delete_vhost(self, vhost: str) -> None:
        self.delete(f"vhosts/{quote(vhost)}")

    def wait_for(self, read: Callable[[], Any], expected: Any, timeout: float = 10) -> bool:
        """Whether ``read()`` returns ``expected`` within ``timeout``: the API's view lags the broker's."""
        deadline = time.monotonic() + timeout
        while read() != expected:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def queue(self, vhost: str, name: str) -> dict[str, Any]:
        return self.get(f"queues/{quote(vhost)}/{quote(name)}")

    def queue_names(self, vhost: str) -> set[str]:
        return {queue["name"] for queue in self.get(f"queues/{quote(vhost)}")}


def quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")
