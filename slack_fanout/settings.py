"""Settings read from the environment, where any field may come from a file instead.

Each field ``X`` may be given as ``X_FILE``, the path of a file holding the value (a Docker
or Kubernetes secret), so secrets need never sit in the environment or in compose.yaml.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)


class ConfigError(Exception):
    """The configuration is unusable; the message says what to set."""


def _split_urls(value: Any) -> Any:
    """``AMQP_URL`` as given: one URL, or several separated by commas (one per node of a cluster)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _check_urls(urls: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
    """Each one an AMQP URL with a host; the message never repeats a URL, which may hold a password."""
    if not urls:
        raise ValueError("give at least one broker URL (amqp://user:password@host:5672/vhost)")
    for number, url in enumerate(urls, start=1):
        parts = urllib.parse.urlsplit(url.get_secret_value())
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            raise ValueError(f"URL number {number} is not amqp://user:password@host:port/vhost or amqps://…")
    return urls


AmqpUrls = Annotated[
    tuple[SecretStr, ...], NoDecode, BeforeValidator(_split_urls), AfterValidator(_check_urls)
]
"""The broker's nodes: one URL, or a comma-separated list of them (a comma inside a password is
written ``%2C``). Clients connect to the first that accepts and fail over to the next; each URL
holds a password, so the list is never logged."""

AMQP_URL_DEFAULT = (SecretStr("amqp://guest:guest@localhost:5672/%2F"),)


def secret_values(urls: tuple[SecretStr, ...]) -> tuple[str, ...]:
    return tuple(url.get_secret_value() for url in urls)


class _FileVariantSource(PydanticBaseSettingsSource):
    """Reads ``X`` from the file named by ``X_FILE``."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env_name = f"{field_name.upper()}_FILE"
        path = os.environ.get(env_name)
        if not path:
            return None, field_name, False
        if os.environ.get(field_name.upper()):
            raise ConfigError(f"set {field_name.upper()} or {env_name}, not both")
        try:
            return Path(path).read_text(encoding="utf-8").strip(), field_name, False
        except OSError as exc:
            raise ConfigError(f"{env_name}={path}: cannot read it ({exc.strerror})") from None

    def __call__(self) -> dict[str, Any]:
        values = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[key] = value
        return values


class EnvSettings(BaseSettings):
    """Base for each app's settings: environment variables, then ``*_FILE`` files, then defaults."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _FileVariantSource(settings_cls)


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class AppSettings(EnvSettings):
    """What the gateway and every consumer read alike: the broker, and how much to log."""

    amqp_url: AmqpUrls = Field(
        AMQP_URL_DEFAULT,
        description="The broker: one URL, or one per node of a cluster, comma-separated (failover in "
        "order); holds passwords, so it is never logged.",
    )
    log_level: LogLevel = Field(
        "INFO",
        description="`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`; `DEBUG` also shows pika's logs.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


def load_settings(settings_cls: type[S], **overrides: Any) -> S:
    """Build settings or raise ``ConfigError`` with one readable line per problem."""
    try:
        return settings_cls(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"invalid configuration: {problems}") from None


def _describe(error: Any) -> str:
    name = ".".join(str(part) for part in error["loc"]).upper()
    message = error["msg"].removeprefix("Value error, ")
    return f"{name}: {message}" if name else message
