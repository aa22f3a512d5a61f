"""Specification of how the gateway reads and tells apart Slack request bodies."""

import json

import pytest

from gateway.errors import BodyNotUtf8, MalformedBody, UnknownPayload, UnsupportedMediaType
from gateway.slack_body import (
    FORM,
    JSON,
    Handshake,
    SlackBody,
    classify,
    decode_text,
    media_type_of,
    parse_body,
    payload_of,
)
from slack_fanout.envelope import Kind
from testbed import slack


def read(raw: bytes, media_type: str) -> SlackBody:
    return parse_body(decode_text(raw), media_type)


def kind_of(body: SlackBody) -> object:
    return classify(body, payload_of(body))


@pytest.mark.parametrize(
    ("raw", "media_type", "kind"),
    [
        (slack.slash_command(), FORM, Kind.SLASH_COMMAND),
        (slack.outgoing_webhook(), FORM, Kind.OUTGOING_WEBHOOK),
        (slack.block_action(), FORM, Kind.INTERACTIVE),
        (slack.event_callback(), JSON, Kind.EVENT_CALLBACK),
        (json.dumps({"type": "app_rate_limited", "team_id": "T1"}).encode(), JSON, Kind.APP_RATE_LIMITED),
        (slack.url_verification(), JSON, Handshake.URL_VERIFICATION),
        (slack.form({"ssl_check": "1", "token": "t"}), FORM, Handshake.SSL_CHECK),
    ],
    ids=lambda value: getattr(value, "value", None),
)
def test_each_kind_of_slack_request_is_recognised(raw: bytes, media_type: str, kind: object) -> None:
    assert kind_of(read(raw, media_type)) == kind


def test_an_interactivity_payload_is_the_json_inside_its_form_field() -> None:
    body = read(slack.block_action(value="ship-it"), FORM)
    payload = payload_of(body)
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["value"] == "ship-it"


def test_a_slash_command_payload_is_its_form_fields() -> None:
    body = read(slack.slash_command(text="rain in Oslo"), FORM)
    assert payload_of(body)["text"] == "rain in Oslo"


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", " application/json "]
)
def test_content_type_parameters_and_case_do_not_matter(content_type: str) -> None:
    assert media_type_of(content_type) == JSON


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "multipart/form-data; boundary=x"])
def test_content_types_slack_never_sends_are_unsupported(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaType):
        media_type_of(content_type)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(BodyNotUtf8):
        decode_text(b"text=caf\xe9")


@pytest.mark.parametrize(
    ("text", "media_type"),
    [
        ("{not json", JSON),
        ("[1, 2]", JSON),
        ('"a string"', JSON),
        ("[" * 100_000 + "]" * 100_000, JSON),
        ("command=%2Fa&command=%2Fb", FORM),
        ("just-words", FORM),
        ("text=caf%E9", FORM),
        ("payload=not-json", FORM),
        ("payload=%5B1%5D", FORM),
    ],
    ids=["broken", "array", "string", "deeply-nested", "repeated-field", "no-equals", "percent-not-utf8",
         "payload-not-json", "payload-array"],
)  # fmt: skip
def test_a_body_unreadable_as_its_content_type_is_malformed(text: str, media_type: str) -> None:
    with pytest.raises(MalformedBody):
        kind_of(parse_body(text, media_type))


@pytest.mark.parametrize(
    ("text", "media_type"),
    [
        ('{"type": "block_actions"}', JSON),
        ('{"no": "type"}', JSON),
        ("a=b", FORM),
        ("", FORM),
        ("payload=%7B%22no%22%3A1%7D", FORM),
    ],
    ids=["json-unknown-type", "json-no-type", "form-unknown", "form-empty", "payload-no-type"],
)
def test_a_readable_body_that_is_no_slack_request_is_an_unknown_payload(text: str, media_type: str) -> None:
    with pytest.raises(UnknownPayload):
        kind_of(parse_body(text, media_type))
