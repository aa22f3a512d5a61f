"""Secrets out of everything a behaviour record holds: arguments, answers, the inbound payload.

Three rules, applied to any JSON-like value, however deep:
- a value under a secret's key (``token``, ``client_secret``, ``authorization``…) is replaced whole;
- a ``response_url`` or any other URL that carries a credential in its path (Slack's webhook,
  response_url and upload URLs) keeps its scheme and host, and loses its path and query;
- a Slack token found inside any string (``xoxb-…``, ``xapp-…``) is cut out of it.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

REDACTED = "[redacted]"

SECRET_KEYS = frozenset({
    "token", "bot_token", "user_token", "access_token", "refresh_token", "app_token", "client_secret",
    "signing_secret", "verification_token", "authorization", "password", "secret", "x-slack-signature",
    "code",
})  # fmt: skip
"""Keys whose values are secrets (case-insensitive); ``code`` is an OAuth exchange code."""

URL_KEYS = frozenset({"response_url", "upload_url", "incoming_webhook_url", "webhook_url"})
"""Keys whose URL values may carry a credential in their path."""

_TOKEN = re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]{6,}")
_CREDENTIAL_URL = re.compile(
    r"https?://(?:hooks\.slack\.com|files\.slack\.com|[a-z0-9-]+\.slack\.com/(?:upload|services))[^\s\"'<>]*"
)


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` with every secret replaced by ``[redacted]``."""
    lowered = key.lower() if key else None
    if lowered in SECRET_KEYS and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {name: redact(item, str(name)) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        if lowered in URL_KEYS and value.startswith(("http://", "https://")):
            return url_without_path(value)
        return _redact_text(value)
    return value


def url_without_path(url: str) -> str:
    """``https://hooks.slack.com/commands/T1/1/secret`` → ``https://hooks.slack.com/[redacted]``."""
    parts = urllib.parse.urlsplit(url)
    if parts.path in ("", "/") and not parts.query:
        return url
    return f"{parts.scheme}://{parts.netloc}/{REDACTED}"


def _redact_text(text: str) -> str:
    if "xox" not in text and "xapp-" not in text and "slack.com" not in text:
        return text  # the common case, without a regular expression
    text = _TOKEN.sub(REDACTED, text)
    return _CREDENTIAL_URL.sub(lambda match: url_without_path(match.group(0)), text)
