"""Behaviour records as the shadow verdict reads them, and a primary and a candidate that make them.

``run_primary_and_candidate`` is the whole shadow set-up in one call: the real gateway, a
primary (``--reply``, its Slack calls retargeted to a fake Slack) and a candidate
(``--shadow``) as real consumer processes running unchanged WSGI apps, a list of Slack
requests posted to the gateway; it returns once both consumers have published a record
for every request (settled), with the records and what the fake Slack received.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pika.exceptions import AMQPError

from slack_fanout import topology
from slack_fanout.behaviour import BehaviourRecord
from testbed import http, slack
from testbed.processes import Process, python_module, running, running_gateway
from testbed.waiting import eventually
from tests.support.broker import VirtualHost
from tests.support.recorder import RecordedCall, SlackRecorder

BOLT_BOT = "testbed.apps.bolt_bot:flask_app"
BOLT_BOT_CANDIDATE = "testbed.apps.bolt_bot_candidate:flask_app"
BOT_TOKEN = "xoxb-1234-5678-primarytokenvalue"
SHADOW_TOKEN = "xoxb-9999-8888-shadowtokenvalue"
CONCURRENCY = 2
"""Each consumer's ``CONSUMER_CONCURRENCY`` unless a test asks for another."""


def read_records(
    vhost: VirtualHost, count: int, timeout: float = 30.0, **match: str
) -> list[BehaviourRecord]:
    """The first ``count`` records in stream ``slack.behaviour`` whose fields equal ``match``
    (``consumer="shadow"``), read from the stream's start; waits for them."""

    def enough() -> list[BehaviourRecord]:
        found = [r for r in all_records(vhost) if all(getattr(r, k) == v for k, v in match.items())]
        return found[:count] if len(found) >= count else []

    return eventually(enough, f"{count} record(s) matching {match}", timeout, interval=0.1)


def all_records(vhost: VirtualHost) -> list[BehaviourRecord]:
    """Every record now in the stream, oldest first (a stream is read, never drained)."""
    records: list[BehaviourRecord] = []
    with vhost.channel() as channel:
        queue = channel.queue_declare(topology.BEHAVIOUR_STREAM, passive=True)
        total = queue.method.message_count
        if total == 0:
            return records
        channel.basic_qos(prefetch_count=100)
        for method, _properties, body in channel.consume(
            topology.BEHAVIOUR_STREAM, arguments={"x-stream-offset": "first"}, inactivity_timeout=1
        ):
            if method is None:
                break
            records.append(BehaviourRecord.decode(body))
            channel.basic_ack(method.delivery_tag)
            if len(records) >= total:
                break
        # pika rejects the deliveries still in flight, and RabbitMQ answers a reject on a stream by
        # closing the connection: harmless, since reading a stream takes nothing from it.
        with contextlib.suppress(AMQPError):
            channel.cancel()
    return records


@dataclass
class Settled:
    """What both sides did for the requests, once both settled."""

    primary: list[BehaviourRecord]
    candidate: list[BehaviourRecord]
    secondary: list[BehaviourRecord] = field(default_factory=list)
    """With ``secondary_app``: a second shadow (the primary's code, for noise), else none."""
    slack_calls: list[RecordedCall] = field(default_factory=list)
    """Every call the fake Slack received (the primary's only: a candidate sends nothing)."""
    replies: list[http.HttpAnswer] = field(default_factory=list)
    """The gateway's answers to the requests, in order."""
    logs: dict[str, str] = field(default_factory=dict)

    def pairs(self) -> list[tuple[BehaviourRecord, BehaviourRecord]]:
        """(primary, candidate) per envelope, in the primary's order."""
        candidates = {record.envelope_id: record for record in self.candidate}
        return [(record, candidates[record.envelope_id]) for record in self.primary]


@dataclass
class ShadowSystem:
    url: str
    slack: SlackRecorder
    vhost: VirtualHost
    processes: dict[str, Process]

    def response_url(self, name: str) -> str:
        """A response_url as Slack gives it: on hooks.slack.com (the primary's capture retargets it)."""
        return f"https://hooks.slack.com/commands/T0001/{name}/bWFkZS11cC1zZWNyZXQ"


@contextmanager
def shadow_system(
    vhost: VirtualHost,
    tmp_path: Path,
    *,
    primary_app: str = BOLT_BOT,
    candidate_app: str = BOLT_BOT,
    secondary_app: str | None = None,
    concurrency: int = CONCURRENCY,
    **env: str,
) -> Iterator[ShadowSystem]:
    """Gateway (waiting for the primary's answers), primary and candidate (and a secondary shadow),
    all consuming; each consumer's ``CONSUMER_CODE_VERSION`` is its name."""
    recorder = SlackRecorder()
    common = {"AMQP_URL": vhost.amqp_url, "SLACK_SIGNING_SECRET": slack.SIGNING_SECRET,
              "CONSUMER_CONCURRENCY": str(concurrency), "CONSUMER_STATE_DIR": str(tmp_path / "state"),
              **env}  # fmt: skip
    sides = {
        "primary": ([primary_app, "--reply"], {"SLACK_BOT_TOKEN": BOT_TOKEN,
                                                "CONSUMER_SLACK_BASE_URL": recorder.url}),
        "candidate": ([candidate_app, "--shadow"], {"SLACK_BOT_TOKEN": SHADOW_TOKEN}),
    }  # fmt: skip
    if secondary_app is not None:
        sides["secondary"] = ([secondary_app, "--shadow"], {"SLACK_BOT_TOKEN": SHADOW_TOKEN})
    try:
        with ExitStack() as stack:
            processes = {}
            for name, (arguments, side_env) in sides.items():
                argv = python_module("consumers", "run", name, "--wsgi", *arguments)
                processes[name] = stack.enter_context(
                    running(
                        argv, {**common, **side_env, "CONSUMER_CODE_VERSION": name}, tmp_path / f"{name}.log"
                    )
                )
            for name, process in processes.items():
                process.wait_for_log("consuming", consumer=name, timeout=30)
            options = {"REPLY_PASSTHROUGH": "true", "REPLY_DEADLINE_MS": "2500"}
            _gateway, url = stack.enter_context(
                running_gateway(vhost.amqp_url, tmp_path / "gateway.log", **options)
            )
            yield ShadowSystem(url, recorder, vhost, processes)
    finally:
        recorder.close()


def run_primary_and_candidate(
    vhost: VirtualHost,
    tmp_path: Path,
    requests: list[slack.SlackRequest],
    *,
    primary_app: str = BOLT_BOT,
    candidate_app: str = BOLT_BOT,
    secondary_app: str | None = None,
    concurrency: int = CONCURRENCY,
    **env: str,
) -> Settled:
    """Post ``requests`` to the gateway, one after the other, with primary and candidate (and, given
    ``secondary_app``, a secondary shadow) consuming; return once each published a record per request.

    ``env`` goes to every consumer (``CONSUMER_SETTLE_TIMEOUT_SECONDS="2"``), and so does ``concurrency``,
    named here as in ``shadow_system`` so that no string in ``env`` can stand for that number."""
    with shadow_system(
        vhost,
        tmp_path,
        primary_app=primary_app,
        candidate_app=candidate_app,
        secondary_app=secondary_app,
        concurrency=concurrency,
        **env,
    ) as system:
        replies = [http.post(system.url, request) for request in requests]
        records = {name: read_records(vhost, len(requests), consumer=name) for name in system.processes}
        calls = list(system.slack.calls)
        logs = {name: process.log_text() for name, process in system.processes.items()}
    return Settled(
        primary=records["primary"],
        candidate=records["candidate"],
        secondary=records.get("secondary", []),
        slack_calls=calls,
        replies=replies,
        logs=logs,
    )


def slash_command(command: str, text: str, response_url: str) -> slack.SlackRequest:
    """``command`` (``/deploy``) as Slack posts it, signed."""
    fields = dict(urllib.parse.parse_qsl(slack.slash_command(text=text, response_url=response_url).decode()))
    return slack.signed(slack.form({**fields, "command": command}), slack.FORM)


def app_mention(text: str, event_id: str) -> slack.SlackRequest:
    return slack.signed(slack.event_callback(text=text, event_id=event_id), slack.JSON)
