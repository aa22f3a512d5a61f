"""The comparer reads the records consumers publish from the broker's behaviour stream."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import verdict.stream
from slack_fanout.answer_deadline import ANSWER_TIMEOUT_S
from slack_fanout.behaviour import BehaviourRecord
from slack_fanout.exit_codes import ExitCode
from testbed.http import get
from testbed.processes import free_port, http_ok, running, slack_fanout
from testbed.records import modified_candidate, records, same_code
from tests.support.behaviour_stream import declare_behaviour_stream, publish_records
from tests.support.broker import Broker, VirtualHost
from tests.support.tcp_proxy import TcpProxy
from tests.support.threads import on_a_thread
from verdict.cli import main
from verdict.stream import StreamUnavailable, read_stream

pytestmark = pytest.mark.broker
SECONDARY = ["--secondary", "shadow-control"]


@pytest.fixture
def stream(vhost: VirtualHost, monkeypatch: pytest.MonkeyPatch) -> VirtualHost:
    with vhost.channel() as channel:
        declare_behaviour_stream(channel)
    monkeypatch.setenv("AMQP_URL", vhost.amqp_url)
    return vhost


def received(built: list[BehaviourRecord], ago: timedelta) -> list[BehaviourRecord]:
    """The records of requests the gateway received ``ago``, under envelope ids of their own."""
    moment = datetime.now(UTC) - ago
    return [
        r.model_copy(
            update={"envelope_id": f"{r.envelope_id}-{ago}", "received_at": moment, "started_at": moment}
        )
        for r in built
    ]


def test_the_verdict_on_the_records_in_the_stream(
    stream: VirtualHost, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_records(stream, records(modified_candidate, 5))

    assert main([*SECONDARY, "--idle", "0.3", "--json"]) == ExitCode.DIFFERS

    verdict = json.loads(capsys.readouterr().out)
    assert verdict["joined"] == 10 and verdict["records"]["read"] == 30


def test_since_leaves_out_the_requests_received_before_the_window(stream: VirtualHost) -> None:
    publish_records(stream, received(records(modified_candidate, 4), ago=timedelta(hours=3)))
    publish_records(stream, received(records(same_code, 4), ago=timedelta(minutes=5)))

    assert main([*SECONDARY, "--idle", "0.3", "--since", "1h"]) == ExitCode.OK
    assert main([*SECONDARY, "--idle", "0.3"]) == ExitCode.DIFFERS


def test_without_the_stream_the_comparer_says_so_and_exits_4(
    vhost: VirtualHost, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMQP_URL", vhost.amqp_url)

    assert main(["--idle", "0.3"]) == ExitCode.DECLARATIONS
    assert "cannot read the stream 'slack.behaviour' (NOT_FOUND" in capsys.readouterr().err


def test_a_broker_that_cannot_be_reached_exits_6_and_a_refused_login_5(
    vhost: VirtualHost, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMQP_URL", f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    assert main(["--idle", "0.3"]) == ExitCode.UNREACHABLE
    monkeypatch.setenv("AMQP_URL", vhost.amqp_url.replace("guest:guest@", "guest:wrong@"))
    assert main(["--idle", "0.3"]) == ExitCode.LOGIN_REFUSED
    assert "refused the login of user 'guest'" in capsys.readouterr().err


def test_following_the_stream_serves_live_metrics_and_prints_the_verdict_when_stopped(
    stream: VirtualHost, tmp_path: Path
) -> None:
    port = free_port()
    argv = slack_fanout("verdict", *SECONDARY, "--follow", "--metrics-port", str(port))
    with running(argv, {"AMQP_URL": stream.amqp_url}, tmp_path / "verdict.log") as comparer:
        comparer.wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/metrics"), "metrics")
        published = received(records(same_code, 4), ago=timedelta(0))  # joined on the wall clock
        publish_records(stream, published)

        def judged_all() -> bool:
            """Every record read, so no envelope is judged with a side still unread."""
            body = get(f"http://127.0.0.1:{port}/metrics").body.decode()
            return (
                f'slack_fanout_verdict_records_total{{state="read"}} {len(published)}.0' in body
                and 'slack_fanout_verdict_match_ratio{endpoint="event:app_mention"} 1.0' in body
                and 'slack_fanout_verdict_status{status="safe"} 1.0' in body
            )

        comparer.wait_for(judged_all, "every record read and every request matched in the metrics")
        comparer.signal(signal.SIGTERM)
        assert comparer.popen.wait(30) == ExitCode.OK
    assert "verdict: SAFE" in comparer.log_text()


def test_following_resumes_after_a_lost_connection_and_reads_no_record_twice(
    stream: VirtualHost, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verdict.stream, "RECONNECT_DELAY_S", 0.05)
    proxy = TcpProxy(broker.host, broker.port)
    before, after = records(same_code, 1), records(same_code, 2)[6:]
    publish_records(stream, before)
    stop = threading.Event()
    through_proxy = broker.amqp_url(stream.name, port=proxy.port)
    reader = read_stream(through_proxy, since=None, follow=True, idle_s=0, stop=stop, tick_s=0.1)
    try:
        read = take(reader, len(before))
        proxy.cut()
        publish_records(stream, after)
        read += take(reader, len(after))
    finally:
        stop.set()
        reader.close()
        proxy.close()
    assert read == [record.encode() for record in [*before, *after]]


def test_a_read_from_a_node_that_lets_the_reader_in_and_answers_nothing_ends_at_the_bound(
    stream: VirtualHost, broker: Broker, nodes: list[TcpProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verdict.stream, "ANSWER_TIMEOUT_S", 1.0)
    frozen = nodes[0].freeze_once_open()
    url = broker.amqp_url(stream.name, port=nodes[0].port)
    reader = read_stream(url, since=None, follow=False, idle_s=0.3, stop=threading.Event())

    with pytest.raises(StreamUnavailable, match="NoAnswer"):
        on_a_thread(lambda: next(reader)).result(timeout=10)
    assert frozen.is_set()


def test_a_followed_read_stops_at_once_when_told_while_its_node_answers_nothing(
    stream: VirtualHost, broker: Broker, nodes: list[TcpProxy]
) -> None:
    frozen, stop = nodes[0].freeze_once_open(), threading.Event()
    told_at: list[float] = []

    def tell_to_stop_once_frozen() -> None:
        assert frozen.wait(15), "the reader never connected"
        told_at.append(time.monotonic())
        stop.set()

    threading.Thread(target=tell_to_stop_once_frozen, daemon=True).start()
    reader = read_stream(
        broker.amqp_url(stream.name, port=nodes[0].port), since=None, follow=True, idle_s=0, stop=stop
    )

    assert on_a_thread(lambda: list(reader)).result(timeout=ANSWER_TIMEOUT_S) == []
    assert time.monotonic() - told_at[0] < 2 < ANSWER_TIMEOUT_S


def take(reader: Iterator[bytes | None], count: int, timeout: float = 30) -> list[bytes]:
    """The next ``count`` records the reader yields, its idle ticks skipped."""
    deadline = time.monotonic() + timeout
    bodies: list[bytes] = []
    while len(bodies) < count:
        assert time.monotonic() < deadline, f"read {len(bodies)} of {count} records"
        body = next(reader)
        if body is not None:
            bodies.append(body)
    return bodies
