"""Specification of request verification: Slack's v0 signature, then the legacy token."""

import pytest

from gateway.errors import InvalidSignature, InvalidToken, StaleTimestamp, Unauthorized
from gateway.verification import RequestVerifier

# The worked example from Slack's "Verifying requests from Slack" page.
SLACK_DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_TIMESTAMP = 1531420618
SLACK_DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def verifier(now: float = SLACK_DOC_TIMESTAMP, token: str | None = None) -> RequestVerifier:
    return RequestVerifier(SLACK_DOC_SECRET, token, max_age_seconds=300, clock=lambda: now)


def headers(signature: str = SLACK_DOC_SIGNATURE, timestamp: object = SLACK_DOC_TIMESTAMP) -> dict[str, str]:
    return {"x-slack-signature": signature, "x-slack-request-timestamp": str(timestamp)}


def test_the_documented_example_verifies() -> None:
    verifier().verify_signature(SLACK_DOC_BODY, headers())


def test_a_signature_up_to_five_minutes_old_verifies() -> None:
    verifier(now=SLACK_DOC_TIMESTAMP + 300).verify_signature(SLACK_DOC_BODY, headers())


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_a_timestamp_outside_the_window_is_refused_as_stale(skew: int) -> None:
    with pytest.raises(StaleTimestamp):
        verifier(now=SLACK_DOC_TIMESTAMP + skew).verify_signature(SLACK_DOC_BODY, headers())


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verifier().verify_signature(SLACK_DOC_BODY.replace("roadrunner", "coyote"), headers())


@pytest.mark.parametrize(
    "hostile",
    [
        headers(signature="v0=" + "0" * 64),
        headers(signature=""),
        headers(signature="v0=é"),  # non-ASCII: a naive compare_digest raises TypeError
        headers(timestamp=""),
        headers(timestamp="abc"),  # a naive int() raises ValueError
        headers(timestamp="١٥٣١٤٢٠٦١٨"),  # Arabic-Indic digits: isdigit() says yes
        headers(timestamp="9" * 40),
        {"x-slack-signature": SLACK_DOC_SIGNATURE},
    ],
    ids=[
        "wrong",
        "empty",
        "non-ascii",
        "no-timestamp",
        "word",
        "unicode-digits",
        "huge",
        "missing-timestamp",
    ],
)
def test_malformed_signature_headers_are_refused_not_crashed_on(hostile: dict[str, str]) -> None:
    with pytest.raises(Unauthorized):
        verifier().verify_signature(SLACK_DOC_BODY, hostile)


def test_signed_requests_are_checked_by_signature_only_when_a_secret_is_set() -> None:
    assert verifier().checks_signature(headers())
    assert not verifier().checks_signature({})
    assert not RequestVerifier(None, "tok").checks_signature(headers())


def test_the_right_token_is_accepted() -> None:
    verifier(token="s3cret").verify_token("s3cret")


@pytest.mark.parametrize("token", [None, "", "wrong", "s3cret ", "ś3cret"])
def test_a_missing_or_wrong_token_is_refused(token: str | None) -> None:
    with pytest.raises(InvalidToken):
        verifier(token="s3cret").verify_token(token)


def test_without_a_configured_token_an_unsigned_request_is_refused() -> None:
    with pytest.raises(Unauthorized, match="no verification token"):
        verifier(token=None).verify_token("anything")
