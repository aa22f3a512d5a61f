"""A compose project run on the tests' own engine, as a user runs it: the compose CLI in its directory.

``docker compose`` (the v2 plugin) where the engine's client has it, Debian's ``docker-compose``
(1.29) otherwise; both read the same compose.yaml and compose.override.yaml.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from testbed.processes import json_lines
from testbed.waiting import eventually
from tests.support.engine import Engine


@dataclass
class ComposeProject:
    engine: Engine
    directory: Path
    name: str
    variables: dict[str, str] = field(default_factory=dict)
    """Substituted into compose.yaml (image names, host ports), as a user's environment or .env would."""
    _containers: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    @cached_property
    def command(self) -> list[str]:
        v2 = subprocess.run(["docker", "compose", "version"], env=self.engine.env(), capture_output=True)
        return ["docker", "compose"] if v2.returncode == 0 else ["docker-compose"]

    @property
    def is_v2(self) -> bool:
        return self.command == ["docker", "compose"]

    def env(self) -> dict[str, str]:
        return {**self.engine.env(), **self.variables, "COMPOSE_PROJECT_NAME": self.name}

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.command, *args], cwd=self.directory, env=self.env(),
                                capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def container(self, service: str) -> str:
        """The service's container id, asked of compose once (a restart keeps it)."""
        if service not in self._containers:
            [self._containers[service]] = self.run("ps", "-q", service).stdout.split()
        return self._containers[service]

    def state(self, service: str) -> dict[str, Any]:
        inspected = self.engine.docker("inspect", self.container(service)).stdout
        return json.loads(inspected)[0]["State"]

    def logs(self, service: str) -> str:
        result = self.engine.docker("logs", self.container(service))
        return result.stdout + result.stderr

    def log_records(self, service: str) -> list[dict[str, Any]]:
        return json_lines(self.logs(service))

    def wait_for_log(self, service: str, message: str, timeout: float = 60, **fields: Any) -> dict[str, Any]:
        def found() -> list[dict[str, Any]]:
            return [
                record
                for record in self.log_records(service)
                if record.get("message") == message and all(record.get(k) == v for k, v in fields.items())
            ]

        return eventually(
            found,
            f"{service} to log {message!r} {fields}",
            timeout,
            interval=0.25,
            context=lambda: self.logs(service),
        )[0]
