"""The RabbitMQ management HTTP API, as the operator commands (status, apply) read and write it."""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pydantic import Field, SecretStr

from slack_fanout.exit_codes import ExitCode
from slack_fanout.settings import ConfigError, EnvSettings


class ManagementSettings(EnvSettings):
    rabbitmq_management_url: str = Field("http://localhost:15672", description="The management API.")
    rabbitmq_management_user: str = Field("guest", description="A user with the `administrator` tag.")
    rabbitmq_management_password: SecretStr = Field(SecretStr("guest"), description="Its password.")
    rabbitmq_vhost: str = Field("/", description="The deployment's vhost.")


class ManagementError(Exception):
    """The management API could not be reached, or refused the request."""

    exit_code = ExitCode.UNREACHABLE


@dataclass(frozen=True)
class ManagementApi:
    url: str
    user: str
    password: SecretStr

    @classmethod
    def from_settings(cls, settings: ManagementSettings) -> ManagementApi:
        return cls(settings.rabbitmq_management_url, settings.rabbitmq_management_user,
                   settings.rabbitmq_management_password)  # fmt: skip

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """``path`` below ``/api/``, its parts already quoted; the decoded JSON answer, if any."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url.rstrip('/')}/api/{path}", data=data, method=method)
        credentials = f"{self.user}:{self.password.get_secret_value()}"
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            if error.code == HTTPStatus.UNAUTHORIZED:
                raise ManagementLoginRefused(
                    f"the management API at {self.url} refused the login of user {self.user!r}"
                ) from None
            reason = _reason(error)
            raise ManagementHttpError(
                error.code, f"HTTP {error.code} from {method} {error.url}{reason}"
            ) from None
        except (OSError, ValueError) as error:
            raise ManagementError(f"cannot reach the management API at {self.url}: {error}") from None
        return json.loads(text) if text else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def find(self, path: str) -> Any | None:
        """The object at ``path``, or None when the broker has none."""
        try:
            return self.get(path)
        except ManagementHttpError as error:
            if error.code == HTTPStatus.NOT_FOUND:
                return None
            raise


class ManagementHttpError(ManagementError):
    """The API answered with an HTTP error status: it refused the request."""

    exit_code = ExitCode.DECLARATIONS

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ManagementLoginRefused(ManagementError):
    """A wrong password, or a user without the management tag."""

    exit_code = ExitCode.LOGIN_REFUSED


def refusal(command: str, error: ConfigError | ManagementError, vhost: str) -> ExitCode:
    """What an operator command says on stderr, in one line, when it cannot do its job; its exit code."""
    if isinstance(error, ConfigError):
        print(f"slack-fanout {command}: {error}", file=sys.stderr)
        return ExitCode.CONFIG
    where = f" (vhost {vhost!r})" if isinstance(error, ManagementLoginRefused) else ""
    print(f"slack-fanout {command}: {error}{where}", file=sys.stderr)
    return error.exit_code


def _reason(error: urllib.error.HTTPError) -> str:
    """The broker's explanation, when the error body has one (a refused queue declaration says why)."""
    try:
        return f": {json.load(error)['reason']}"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def quote(part: str) -> str:
    """One path segment: a vhost named ``/`` becomes ``%2F``."""
    return urllib.parse.quote(part, safe="")
