"""Behaviour records built by hand, as a primary (real Slack answers) or a shadow (fake ones)
would publish them, for the comparer's tests and its benchmark."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_fanout.behaviour import Answer, BehaviourRecord, CallMode, CallTarget, Escape, Outcome, SlackCall
from slack_fanout.envelope import Kind

RECEIVED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CHANNEL = "C2147483705"
MENTION = {
    "type": "event_callback",
    "event_id": "Ev08MFMKH6",
    "event": {"type": "app_mention", "user": "U2147483697", "text": "<@U0BOT> deploy", "channel": CHANNEL,
              "ts": "1515449522.000016", "client_msg_id": "1c2ed0e3-7bcd-4e5a-a7a5-6d1f0e4b6f3a"},
}  # fmt: skip
DEPLOY = {
    "command": "/deploy",
    "text": "api v2",
    "channel_id": CHANNEL,
    "user_id": "U2147483697",
    "response_url": "https://hooks.slack.com/commands/T0001/REDACTED",
    "trigger_id": "13345224609.738474920.8088930838d88f008e0",
}
CONSUMERS = ("primary", "shadow", "shadow-control")
"""Primary, candidate and secondary."""
Build = Callable[[str, int], list[BehaviourRecord]]
"""What consumer ``name`` publishes for request number ``n``."""
_real_ts = itertools.count(1_764_590_000_000_001)


def a_call(
    method: str = "chat.postMessage",
    *,
    target: CallTarget = CallTarget.WEB_API,
    shadow: bool = False,
    response: dict[str, Any] | None = None,
    offset_ms: float = 1.0,
    **arguments: Any,
) -> SlackCall:
    return SlackCall(
        target=target,
        method=method,
        arguments=arguments,
        mode=CallMode.SUPPRESSED if shadow else CallMode.SENT,
        status=200,
        response=response if response is not None else {"ok": True},
        offset_ms=offset_ms,
        duration_ms=0.2 if shadow else 45.0,
    )


def a_post(text: str, *, shadow: bool, channel: str = CHANNEL, **arguments: Any) -> SlackCall:
    """``chat.postMessage`` answered as Slack does (a real ``ts``), or as a shadow's fake does."""
    ts = "0000000001.000001" if shadow else slack_ts()
    response = {"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "ts": ts}}
    return a_call(
        "chat.postMessage", shadow=shadow, response=response, channel=channel, text=text, **arguments
    )


def slack_ts() -> str:
    value = next(_real_ts)
    return f"{value // 1_000_000}.{value % 1_000_000:06d}"


def a_record(
    consumer: str,
    *,
    envelope_id: str = "e1",
    endpoint: str = "event:app_mention",
    calls: list[SlackCall] | None = None,
    answer: Answer | None = None,
    outcome: Outcome = Outcome.HANDLED,
    duration_ms: float = 12.0,
    inbound: dict[str, Any] | None = None,
    received_at: datetime = RECEIVED_AT,
    escapes: list[Escape] | None = None,
    exceptions: list[str] | None = None,
) -> BehaviourRecord:
    shadow = consumer != "primary"
    kind = Kind.SLASH_COMMAND if endpoint.startswith("command:") else Kind.EVENT_CALLBACK
    return BehaviourRecord(
        envelope_id=envelope_id,
        consumer=consumer,
        code_version="test",
        shadow=shadow,
        kind=kind,
        endpoint=endpoint,
        received_at=received_at,
        started_at=received_at + timedelta(milliseconds=3),
        duration_ms=duration_ms,
        outcome=outcome,
        answer=answer if answer is not None else Answer(status=200, content_type="text/plain", body=""),
        calls=calls or [],
        exceptions=exceptions or [],
        escapes=escapes or [],
        inbound=inbound if inbound is not None else (DEPLOY if kind is Kind.SLASH_COMMAND else MENTION),
    )


def mention_handled(
    consumer: str,
    envelope_id: str,
    *,
    greeting: str = "Deploying api v2",
    extra: bool = False,
    mood: str = "calm",
) -> BehaviourRecord:
    """The Bolt bot's ``app_mention``: ``say()`` a greeting, then update that very message.

    ``extra`` adds one more ``chat.postMessage`` (a modified candidate); ``mood`` stands for a
    value the bot picks at random, the noise a secondary reveals.
    """
    shadow = consumer != "primary"
    posted = a_post(greeting, shadow=shadow)
    assert posted.response is not None
    calls = [
        posted,
        a_call("chat.update", shadow=shadow, response={"ok": True, "ts": posted.response["ts"]},
               channel=CHANNEL, ts=posted.response["ts"], text=f"Deployed ({mood})",
               blocks=json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "*Deployed*"}}])),
    ]  # fmt: skip
    if extra:
        calls.append(
            a_post("Also: the changelog is in the thread", shadow=shadow, thread_ts=posted.response["ts"])
        )
    return a_record(consumer, envelope_id=envelope_id, calls=calls, duration_ms=80.0 if shadow else 120.0)


def deploy_handled(
    consumer: str, envelope_id: str, *, ack_text: str = "Deploying api v2…"
) -> BehaviourRecord:
    """The Bolt bot's ``/deploy``: ``ack()`` with a text, then ``respond()`` through the response_url."""
    shadow = consumer != "primary"
    respond = a_call("response_url", target=CallTarget.WEBHOOK, shadow=shadow,
                     response={"ok": True}, text="api v2 is live", response_type="in_channel")  # fmt: skip
    return a_record(
        consumer,
        envelope_id=envelope_id,
        endpoint="command:/deploy",
        answer=Answer(status=200, content_type="application/json", body=json.dumps({"text": ack_text})),
        calls=[respond],
        duration_ms=30.0 if shadow else 40.0,
    )


def mood(consumer: str, n: int) -> str:
    """A value the bot picks at random: the shadow and the secondary each differ from the
    primary in half the requests (not the same half)."""
    merry = {"primary": False, "shadow": n % 2 == 0, "shadow-control": n % 2 == 1}[consumer]
    return "merry" if merry else "calm"


def same_code(consumer: str, n: int) -> list[BehaviourRecord]:
    """What the unchanged bot does."""
    return [mention_handled(consumer, f"m{n}", mood=mood(consumer, n)), deploy_handled(consumer, f"d{n}")]


def modified_candidate(consumer: str, n: int) -> list[BehaviourRecord]:
    """A different say() text, one extra chat.postMessage and a different ack() answer."""
    if consumer != "shadow":
        return same_code(consumer, n)
    return [
        mention_handled(
            consumer, f"m{n}", greeting="Deploying api v2 now", extra=True, mood=mood(consumer, n)
        ),
        deploy_handled(consumer, f"d{n}", ack_text="On it!"),
    ]


def records(build: Build, requests: int, consumers: Iterable[str] = CONSUMERS) -> list[BehaviourRecord]:
    """Every record of ``requests`` requests, each consumer's in turn, as a stream would hold them."""
    return [record for n in range(requests) for consumer in consumers for record in build(consumer, n)]


def write_lines(path: Path, built: Iterable[BehaviourRecord]) -> Path:
    path.write_bytes(b"".join(record.encode() + b"\n" for record in built))
    return path
