"""From raw request to envelope: verify, parse, classify. No Flask, no broker.

Signed requests are verified on the raw bytes before anything is parsed. Unsigned ones
(legacy outgoing webhooks) carry their proof, the token, inside the body, so for them
parsing must come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.slack_body import Handshake, classify, decode_text, media_type_of, parse_body, payload_of
from gateway.verification import RequestVerifier
from slack_fanout.envelope import Envelope, Verification

KEPT_HEADERS = ("content-type", "user-agent")


@dataclass(frozen=True)
class HandshakeReply:
    """A request the gateway answers itself (``challenge`` for url_verification)."""

    handshake: Handshake
    challenge: str | None = None


def accept(
    raw: bytes, content_type: str | None, headers: Mapping[str, str], path: str, verifier: RequestVerifier
) -> Envelope | HandshakeReply:
    """Turn one request into an envelope, or raise a ``GatewayError`` (nothing to publish).

    ``headers`` must have lower-case names.
    """
    media_type = media_type_of(content_type)
    text = decode_text(raw)
    signed = verifier.checks_signature(headers)
    if signed:
        verifier.verify_signature(text, headers)
    body = parse_body(text, media_type)
    payload = payload_of(body)
    if not signed:
        verifier.verify_token(_token(payload))
    kind = classify(body, payload)
    if isinstance(kind, Handshake):
        return HandshakeReply(kind, _challenge(payload))
    return Envelope(
        kind=kind,
        verified_by=Verification.SIGNATURE if signed else Verification.TOKEN,
        path=path,
        content_type=content_type or media_type,
        headers=slack_headers(headers),
        body=text,
        payload=payload,
    )


def slack_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a consumer may need: Slack's own (signature, retries) and the content type."""
    return {
        name: value for name, value in headers.items() if name.startswith("x-slack-") or name in KEPT_HEADERS
    }


def _token(payload: Mapping[str, object]) -> str | None:
    token = payload.get("token")
    return token if isinstance(token, str) else None


def _challenge(payload: Mapping[str, object]) -> str | None:
    challenge = payload.get("challenge")
    return challenge if isinstance(challenge, str) else None
