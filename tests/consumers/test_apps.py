"""The repository's two apps as deployed: the primary answers through Slack, the shadow only records.

Real ``python -m consumers.primary`` and ``python -m consumers.shadow`` processes on the real
broker; Slack's side of the wire (its Web API and the response_url) is a local recorder.
"""

from __future__ import annotations

import json
from pathlib import Path

from slack_fanout.envelope import Envelope, Kind, Verification
from testbed import slack
from testbed.processes import Process, python_module, running
from tests.support.broker import VirtualHost, publish
from tests.support.recorder import SlackRecorder

BOT_TOKEN = "xoxb-consumer-apps-test"


def app_env(vhost: VirtualHost, recorder: SlackRecorder) -> dict[str, str | None]:
    return {"AMQP_URL": vhost.amqp_url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": f"{recorder.url}/api/"}


def envelope(kind: Kind, content_type: str, body: bytes, payload: dict) -> Envelope:
    return Envelope(
        kind=kind, verified_by=Verification.SIGNATURE, path="/slack/events", content_type=content_type,
        headers={}, body=body.decode(), payload=payload,
    )  # fmt: skip


def slash_command(response_url: str) -> Envelope:
    body = slack.slash_command(text="forecast", response_url=response_url)
    payload = {"command": "/weather", "text": "forecast", "response_url": response_url}
    return envelope(Kind.SLASH_COMMAND, slack.FORM, body, payload)


def mention() -> Envelope:
    body = slack.event_callback(text="<@U0BOT> hi")
    return envelope(Kind.EVENT_CALLBACK, slack.JSON, body, json.loads(body))


def handled(process: Process, envelope: Envelope) -> dict:
    return process.wait_for_log("handled", envelope_id=envelope.id)


def test_the_primary_answers_through_the_response_url_and_chat_post_message(
    vhost: VirtualHost, recorder: SlackRecorder, tmp_path: Path
) -> None:
    command, event = slash_command(f"{recorder.url}/commands/T1/1"), mention()
    with running(
        python_module("consumers.primary"), app_env(vhost, recorder), tmp_path / "primary.log"
    ) as primary:
        primary.wait_for_log("consuming", consumer="primary", queue="slack.primary")
        publish(vhost, command.encode())
        publish(vhost, event.encode())
        [response] = recorder.wait_for("/commands/T1/1")
        [posted] = recorder.wait_for("/api/chat.postMessage")
        handled(primary, event)

    assert response.json() == {"text": "Got `/weather forecast`", "response_type": "ephemeral"}
    assert posted.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert posted.json() == {"channel": "C2147483705", "text": "You said: <@U0BOT> hi"}
    assert BOT_TOKEN not in primary.log_text()


def test_the_shadow_records_what_the_primary_sends_and_sends_nothing_itself(
    vhost: VirtualHost, recorder: SlackRecorder, tmp_path: Path
) -> None:
    command, event = slash_command(f"{recorder.url}/commands/T1/2"), mention()
    env = app_env(vhost, recorder)
    with (
        running(python_module("consumers.primary"), env, tmp_path / "primary.log") as primary,
        running(python_module("consumers.shadow"), env, tmp_path / "shadow.log") as shadow,
    ):
        primary.wait_for_log("consuming", consumer="primary")
        shadow.wait_for_log("consuming", consumer="shadow", queue="slack.shadow")
        publish(vhost, command.encode())
        publish(vhost, event.encode())
        for envelope in (command, event):  # one copy each, byte-identical
            assert handled(primary, envelope)["message_sha256"] == handled(shadow, envelope)["message_sha256"]
        recorded = [r for r in shadow.log_records() if r["message"] == "slack call recorded"]

    sent = {call.path: call.json() for call in recorder.calls}
    assert len(recorder.calls) == 2  # the primary's two calls; nothing from the shadow
    calls = {record["method"]: record for record in recorded}
    assert calls["respond"]["arguments"] == {
        "response_url": f"{recorder.url}/commands/T1/2",
        "message": sent["/commands/T1/2"],
    }
    assert calls["chat.postMessage"]["arguments"] == sent["/api/chat.postMessage"]
    assert [(r["consumer"], r["envelope_id"]) for r in calls.values()] == [
        ("shadow", command.id),
        ("shadow", event.id),
    ]
    assert BOT_TOKEN not in shadow.log_text()
