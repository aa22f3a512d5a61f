"""Specification of ``accept``: from a raw Slack request to the envelope every consumer gets."""

import time

import pytest

from gateway.errors import InvalidSignature, InvalidToken, StaleTimestamp, Unauthorized
from gateway.inbound import HandshakeReply, accept
from gateway.slack_body import Handshake
from gateway.verification import RequestVerifier
from slack_fanout.envelope import Envelope, Kind, Verification
from testbed import slack

BOTH = RequestVerifier(slack.SIGNING_SECRET, slack.VERIFICATION_TOKEN)


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def accept_request(
    request: slack.SlackRequest, verifier: RequestVerifier = BOTH
) -> Envelope | HandshakeReply:
    headers = lower(request.headers)
    return accept(request.body, headers.get("content-type"), headers, request.path, verifier)


def test_a_signed_slash_command_becomes_an_envelope_carrying_the_exact_body() -> None:
    request = slack.signed(slack.slash_command(text="héllo wörld"), slack.FORM, **{"X-Slack-Retry-Num": "1"})
    envelope = accept_request(request)
    assert isinstance(envelope, Envelope)
    assert envelope.kind is Kind.SLASH_COMMAND
    assert envelope.verified_by is Verification.SIGNATURE
    assert envelope.body.encode() == request.body
    assert envelope.payload["text"] == "héllo wörld"
    assert envelope.path == "/slack/events"
    assert envelope.content_type == slack.FORM
    assert envelope.retry_num == 1
    assert envelope.headers["x-slack-signature"] == request.headers["X-Slack-Signature"]


def test_only_slack_relevant_headers_are_kept() -> None:
    request = slack.signed(
        slack.event_callback(),
        slack.JSON,
        Cookie="session=1",
        Authorization="Bearer x",
        **{"User-Agent": "Slackbot"},
    )
    envelope = accept_request(request)
    assert isinstance(envelope, Envelope)
    assert set(envelope.headers) == {
        "content-type",
        "user-agent",
        "x-slack-signature",
        "x-slack-request-timestamp",
    }


def test_an_unsigned_outgoing_webhook_is_accepted_by_its_token() -> None:
    envelope = accept_request(
        slack.SlackRequest(slack.outgoing_webhook(), {"Content-Type": slack.FORM}, path="/")
    )
    assert isinstance(envelope, Envelope)
    assert envelope.kind is Kind.OUTGOING_WEBHOOK
    assert envelope.verified_by is Verification.TOKEN
    assert envelope.path == "/"


def test_an_unsigned_interactivity_request_is_accepted_by_the_token_inside_its_payload() -> None:
    envelope = accept_request(slack.SlackRequest(slack.block_action(), {"Content-Type": slack.FORM}))
    assert isinstance(envelope, Envelope)
    assert envelope.verified_by is Verification.TOKEN


def test_without_a_signing_secret_signed_requests_fall_back_to_their_token() -> None:
    token_only = RequestVerifier(None, slack.VERIFICATION_TOKEN)
    envelope = accept_request(slack.signed(slack.slash_command(), slack.FORM), token_only)
    assert isinstance(envelope, Envelope)
    assert envelope.verified_by is Verification.TOKEN


def test_a_bad_signature_is_refused_even_when_the_token_is_right() -> None:
    request = slack.signed(slack.slash_command(), slack.FORM)
    request.headers["X-Slack-Signature"] = "v0=" + "0" * 64
    with pytest.raises(InvalidSignature):
        accept_request(request)


def test_a_replayed_request_is_refused_as_stale() -> None:
    body = slack.slash_command()
    request = slack.SlackRequest(
        body, {"Content-Type": slack.FORM, **slack.sign(body, timestamp=int(time.time()) - 301)}
    )
    with pytest.raises(StaleTimestamp):
        accept_request(request)


def test_an_unsigned_request_with_a_wrong_token_is_refused() -> None:
    body = slack.outgoing_webhook().replace(slack.VERIFICATION_TOKEN.encode(), b"forged")
    with pytest.raises(InvalidToken):
        accept_request(slack.SlackRequest(body, {"Content-Type": slack.FORM}))


def test_an_unsigned_request_is_refused_when_only_a_signing_secret_is_configured() -> None:
    with pytest.raises(Unauthorized):
        accept_request(
            slack.SlackRequest(slack.outgoing_webhook(), {"Content-Type": slack.FORM}),
            RequestVerifier(slack.SIGNING_SECRET, None),
        )


def test_url_verification_is_answered_with_its_challenge_and_not_enveloped() -> None:
    reply = accept_request(slack.signed(slack.url_verification("abc123"), slack.JSON))
    assert reply == HandshakeReply(Handshake.URL_VERIFICATION, "abc123")


def test_ssl_check_is_answered_and_not_enveloped() -> None:
    body = slack.form({"ssl_check": "1", "token": slack.VERIFICATION_TOKEN})
    reply = accept_request(slack.SlackRequest(body, {"Content-Type": slack.FORM}))
    assert reply == HandshakeReply(Handshake.SSL_CHECK)


def test_the_envelope_round_trips_through_its_wire_format() -> None:
    envelope = accept_request(slack.signed(slack.block_action(), slack.FORM))
    assert isinstance(envelope, Envelope)
    assert Envelope.decode(envelope.encode()) == envelope
