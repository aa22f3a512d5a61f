"""Hostile input: whatever arrives, the gateway answers 4xx with a clear message or 200; never 500.

Property-based (hypothesis) against the real app and a real broker. Anything refused
publishes nothing; everything accepted is in the bound queue, exactly once.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from testbed import slack
from tests.support.broker import Broker, VirtualHost
from tests.support.gateway import gateway_app, post

QUEUE = "test.hostile"
CONTENT_TYPES = st.sampled_from(
    [slack.FORM, slack.JSON, "application/json; charset=utf-8", "text/plain", "", "multipart/form-data",
     "application/x-www-form-urlencoded; charset=latin-1", "application/JSON"]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
SLACK_TYPES = st.sampled_from(
    ["event_callback", "url_verification", "app_rate_limited", "block_actions", "", None]
)
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)
"""What an HTTP header value can carry (latin-1, no control characters)."""
FORM_KEYS = st.sampled_from(["token", "command", "text", "payload", "trigger_word", "ssl_check", "channel_id",
                             "user_id", "response_url", "challenge", "x"])  # fmt: skip


@pytest.fixture(scope="module")
def hostile_vhost(broker: Broker) -> Iterator[VirtualHost]:
    """One vhost for the module: hypothesis runs each test many times."""
    name = f"test-hostile-input-{uuid.uuid4().hex[:8]}"
    broker.management.create_vhost(name)
    vhost = broker.virtual_host(name, connection_name="hostile input")
    vhost.bind_to_inbound(QUEUE)
    yield vhost
    broker.management.delete_vhost(name)


@pytest.fixture(scope="module")
def app(hostile_vhost: VirtualHost) -> Iterator[Flask]:
    with gateway_app(hostile_vhost.amqp_url, max_body_bytes=64 * 1024) as app:
        yield app


def assert_sound(app: Flask, vhost: VirtualHost, body: bytes, headers: dict[str, str]) -> None:
    vhost.drain(QUEUE)
    response = post(app.test_client(), slack.SlackRequest(body, headers))
    published = vhost.drain(QUEUE)
    assert response.status in (200, 400, 401, 413, 415), response.status
    if response.status == 200:
        assert len(published) <= 1  # 0 for the handshakes the gateway answers itself
        if published:
            assert json.loads(published[0])["body"].encode() == body
    else:
        assert published == []
        assert response.json is not None and response.json["error"] and response.json["message"]


_FIXTURES_OK = [HealthCheck.function_scoped_fixture]  # the app and vhost are per module, on purpose
settings.register_profile("default", max_examples=150, deadline=None, suppress_health_check=_FIXTURES_OK)
settings.register_profile("fuzz", max_examples=5_000, deadline=None, suppress_health_check=_FIXTURES_OK)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "default")
)  # HYPOTHESIS_PROFILE=fuzz: the long run


@given(body=st.binary(max_size=2048), content_type=CONTENT_TYPES, sign=st.booleans())
def test_random_bytes_never_cause_a_server_error(
    app: Flask, hostile_vhost: VirtualHost, body: bytes, content_type: str, sign: bool
) -> None:
    headers = {"Content-Type": content_type, **(slack.sign(body) if sign else {})}
    assert_sound(app, hostile_vhost, body, headers)


@given(value=JSON_VALUES, event_type=SLACK_TYPES, content_type=CONTENT_TYPES)
def test_any_signed_json_never_causes_a_server_error(
    app: Flask, hostile_vhost: VirtualHost, value: object, event_type: str | None, content_type: str
) -> None:
    document = {"type": event_type, "challenge": value, "event": value} if event_type is not None else value
    body = json.dumps(document).encode()
    assert_sound(app, hostile_vhost, body, {"Content-Type": content_type, **slack.sign(body)})


@given(
    fields=st.lists(st.tuples(FORM_KEYS, st.text(max_size=40) | JSON_VALUES.map(json.dumps)), max_size=8),
    with_token=st.booleans(),
    sign=st.booleans(),
)
def test_any_form_with_repeated_or_missing_fields_never_causes_a_server_error(
    app: Flask, hostile_vhost: VirtualHost, fields: list[tuple[str, str]], with_token: bool, sign: bool
) -> None:
    pairs = [("token", slack.VERIFICATION_TOKEN), *fields] if with_token else fields
    body = urllib.parse.urlencode(pairs).encode()
    headers = {"Content-Type": slack.FORM, **(slack.sign(body) if sign else {})}
    assert_sound(app, hostile_vhost, body, headers)


@example(timestamp="١٥٣١٤٢٠٦١٨", signature="v0=é", retry_num="²")  # digits to str.isdigit(), not to int()
@given(
    timestamp=HEADER_TEXT | st.integers().map(str),
    signature=HEADER_TEXT,
    retry_num=HEADER_TEXT,
)
def test_any_signature_and_retry_headers_never_cause_a_server_error(
    app: Flask, hostile_vhost: VirtualHost, timestamp: str, signature: str, retry_num: str
) -> None:
    body = slack.slash_command()
    headers = {
        "Content-Type": slack.FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "X-Slack-Retry-Num": retry_num,
    }
    assert_sound(app, hostile_vhost, body, headers)


@pytest.mark.parametrize(
    "body",
    [b"[" * 200_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"payload=" + b"%5B" * 20_000],
    ids=["deep-array", "deep-object", "deep-payload"],
)
def test_deeply_nested_json_is_refused_cleanly(app: Flask, hostile_vhost: VirtualHost, body: bytes) -> None:
    content_type = slack.FORM if body.startswith(b"payload=") else slack.JSON
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    assert_sound(app, hostile_vhost, body, {"Content-Type": content_type, **slack.sign(body)})


@pytest.mark.parametrize("retry_num", ["²", "-1", "1e3", "\u0661", ""])
def test_a_malformed_retry_header_on_a_valid_request_is_kept_and_counted_as_zero(
    app: Flask, hostile_vhost: VirtualHost, retry_num: str
) -> None:
    request = slack.signed(slack.slash_command(), slack.FORM, **{"X-Slack-Retry-Num": retry_num})
    assert_sound(app, hostile_vhost, request.body, request.headers)
