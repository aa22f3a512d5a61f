"""Proving a request came from Slack: the v0 request signature, or the legacy token.

See https://api.slack.com/authentication/verifying-requests-from-slack. Every check treats
its input as hostile: a malformed header is a refusal (401), never an exception.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping

from slack_sdk.signature import SignatureVerifier

from gateway.errors import InvalidSignature, InvalidToken, StaleTimestamp, Unauthorized

SIGNATURE_HEADER = "x-slack-signature"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class RequestVerifier:
    """Checks signatures when a signing secret is set, tokens when a verification token is set."""

    def __init__(
        self,
        signing_secret: str | None,
        verification_token: str | None,
        max_age_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = SignatureVerifier(signing_secret) if signing_secret else None
        self._token = verification_token.encode() if verification_token else None
        self._max_age = max_age_seconds
        self._clock = clock

    def checks_signature(self, headers: Mapping[str, str]) -> bool:
        """Signed requests are checked by signature; without a secret, only the token can vouch."""
        return self._signer is not None and SIGNATURE_HEADER in headers

    def verify_signature(self, text: str, headers: Mapping[str, str]) -> None:
        """``text`` is the UTF-8 body exactly as received; headers have lower-case names."""
        assert self._signer is not None, "checks_signature() said no"
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise InvalidSignature("X-Slack-Request-Timestamp is missing or not a Unix time")
        if abs(self._clock() - int(timestamp)) > self._max_age:
            raise StaleTimestamp(f"X-Slack-Request-Timestamp is more than {self._max_age} s from now")
        expected = self._signer.generate_signature(timestamp=timestamp, body=text) or ""
        if not hmac.compare_digest(expected.encode(), headers[SIGNATURE_HEADER].encode("utf-8", "replace")):
            raise InvalidSignature("X-Slack-Signature does not match the body")

    def verify_token(self, token: str | None) -> None:
        if self._token is None:
            raise Unauthorized("request is not signed and no verification token is configured")
        if token is None or not hmac.compare_digest(self._token, token.encode("utf-8", "replace")):
            raise InvalidToken("verification token is missing or wrong")
