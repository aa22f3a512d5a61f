"""Specification of a Socket Mode envelope's envelope: what the HTTP gateway would have published.

The same payload, received over Socket Mode or sent by Slack over HTTP (rendered as Slack
renders it, signed), must give the same envelope but for its id, its time and ``verified_by``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.errors import BadRequest
from gateway.inbound import accept
from gateway.socket_mode.envelopes import SocketRequest, UnusableReply, ack, http_body, to_envelope
from gateway.verification import RequestVerifier
from slack_fanout.envelope import Envelope, Kind, Reply, Verification
from testbed import slack, socket_payloads

PATH = "/slack/events"
SIGNATURE_HEADERS = {"x-slack-signature", "x-slack-request-timestamp"}


def over_http(content_type: str, body: str) -> Envelope:
    """What the HTTP gateway publishes for this body, signed by Slack."""
    request = slack.signed(body.encode(), content_type)
    headers = {name.lower(): value for name, value in request.headers.items()}
    verifier = RequestVerifier(slack.SIGNING_SECRET, slack.VERIFICATION_TOKEN)
    envelope = accept(request.body, content_type, headers, PATH, verifier)
    assert isinstance(envelope, Envelope)
    return envelope


def comparable(envelope: Envelope) -> dict[str, Any]:
    fields = envelope.model_dump(mode="json", exclude={"id", "received_at", "verified_by"})
    fields["headers"] = {k: v for k, v in fields["headers"].items() if k not in SIGNATURE_HEADERS}
    return fields


def request_of(kind: str, payload: dict[str, Any], **fields: Any) -> SocketRequest:
    return SocketRequest.from_message({"type": kind, "envelope_id": "e-1", "payload": payload, **fields})


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("slash_commands", Kind.SLASH_COMMAND), ("interactive", Kind.INTERACTIVE),
     ("events_api", Kind.EVENT_CALLBACK)],
)  # fmt: skip
def test_each_envelope_type_becomes_the_envelope_the_http_gateway_builds(kind: str, expected: Kind) -> None:
    request = request_of(kind, socket_payloads.of_every_type()[kind])
    envelope = to_envelope(request, PATH)
    assert envelope.kind is expected
    assert envelope.verified_by is Verification.SOCKET_MODE
    assert comparable(envelope) == comparable(over_http(*http_body(request)))


def test_bodies_are_rendered_as_slack_sends_them_over_http() -> None:
    payloads = socket_payloads.of_every_type()
    form_type, form = http_body(request_of("slash_commands", payloads["slash_commands"]))
    assert (form_type, form.encode()) == (slack.FORM, slack.slash_command(text="forecast ☀"))
    interaction_type, interaction = http_body(request_of("interactive", payloads["interactive"]))
    assert interaction_type == slack.FORM
    assert json.loads(slack.interactive_payload(interaction.encode())) == payloads["interactive"]
    assert (
        to_envelope(request_of("interactive", payloads["interactive"]), PATH).payload
        == payloads["interactive"]
    )
    event_type, event = http_body(request_of("events_api", payloads["events_api"]))
    assert (event_type, json.loads(event)) == (slack.JSON, payloads["events_api"])


def test_the_envelope_id_is_slacks_so_every_redelivery_of_one_envelope_has_the_same_id() -> None:
    envelope = to_envelope(request_of("events_api", socket_payloads.event_callback()), PATH)
    assert envelope.id == "e-1"


def test_slacks_retry_attempt_and_reason_are_kept_as_the_retry_headers_of_http() -> None:
    retried = request_of(
        "events_api", socket_payloads.event_callback(), retry_attempt=2, retry_reason="timeout"
    )
    envelope = to_envelope(retried, PATH)
    assert envelope.headers["x-slack-retry-num"] == "2"
    assert envelope.headers["x-slack-retry-reason"] == "timeout"
    assert envelope.retry_num == 2
    first = to_envelope(request_of("events_api", socket_payloads.event_callback(), retry_attempt=0), PATH)
    assert "x-slack-retry-num" not in first.headers


def test_the_path_is_the_one_given_for_the_apps_route() -> None:
    request = request_of("slash_commands", socket_payloads.slash_command())
    assert to_envelope(request, "/slack/commands").path == "/slack/commands"


@pytest.mark.parametrize(
    "message",
    [
        {"type": "hello"},
        {"type": "slash_commands", "payload": socket_payloads.slash_command()},
        {"type": "slash_commands", "envelope_id": "bad id with spaces", "payload": {}},
        {"type": "interactive", "envelope_id": "e-1", "payload": "text"},
        {"type": "interactive", "envelope_id": "e-1", "payload": {"no": "type"}},
        {"type": "events_api", "envelope_id": "e-1", "payload": {"type": "url_verification"}},
        {"type": "slash_commands", "envelope_id": "e-1", "payload": {"command": ["not", "text"]}},
    ],
    ids=["hello", "no-id", "bad-id", "payload-not-object", "interaction-without-type",
         "url-verification", "field-not-text"],
)  # fmt: skip
def test_what_is_no_request_is_refused_as_the_http_gateway_refuses_it(message: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        to_envelope(SocketRequest.from_message(message), PATH)


def test_the_ack_carries_the_primarys_answer_as_bolt_sends_an_apps_answer() -> None:
    assert ack("e-1") == {"envelope_id": "e-1"}
    assert ack("e-1", Reply("application/json", b"")) == {"envelope_id": "e-1"}
    answer = Reply("application/json; charset=utf-8", b'{"response_type": "in_channel", "text": "hi"}')
    assert ack("e-1", answer) == {
        "envelope_id": "e-1",
        "payload": {"response_type": "in_channel", "text": "hi"},
    }
    assert ack("e-1", Reply("text/plain", b"sunny")) == {"envelope_id": "e-1", "payload": {"text": "sunny"}}


@pytest.mark.parametrize("body", [b"[1, 2]", b"{not json"])
def test_an_answer_that_is_no_json_object_cannot_go_in_an_ack(body: bytes) -> None:
    with pytest.raises(UnusableReply):
        ack("e-1", Reply("application/json", body))
