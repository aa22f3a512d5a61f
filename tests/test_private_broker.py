"""A private RabbitMQ node: a broker of the test's own that it may restart, crash or fill up.

It boots on its own ports beside the shared node without disturbing it, keeps persistent
messages across an app restart, a full stop and a crash, blocks publishers during a memory or
disk alarm and unblocks them after, and leaves no process, epmd entry or file behind, also when
the test using it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest

from testbed.private_broker import PrivateBroker, PrivateBrokerError, _epmd_names
from testbed.waiting import eventually

REPO = Path(__file__).resolve().parents[1]
SHARED_AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
PERSISTENT = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)


def connect(url: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(url))


def publish_confirmed(broker: PrivateBroker, queue: str, body: bytes) -> None:
    """A persistent message into a durable queue, confirmed, so on disk once this returns."""
    with connect(broker.amqp_url) as connection:
        channel = connection.channel()
        channel.queue_declare(queue, durable=True)
        channel.confirm_delivery()
        channel.basic_publish("", queue, body, properties=PERSISTENT, mandatory=True)


def bodies_in(broker: PrivateBroker, queue: str) -> list[bytes]:
    with connect(broker.amqp_url) as connection:
        channel = connection.channel()
        bodies = []
        while (message := channel.basic_get(queue, auto_ack=True))[0] is not None:
            bodies.append(message[2])
        return bodies


def leftovers(home: Path, name: str) -> dict[str, object]:
    """What a closed node could have left behind: processes, its epmd entry, its directory."""
    processes = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(home).encode() in (entry / "cmdline").read_bytes():
                processes.append(int(entry.name))
        except OSError:
            continue
    return {
        "processes": processes,
        "registered with epmd": name in _epmd_names(),
        "directory exists": home.exists(),
    }


NOTHING_LEFT = {"processes": [], "registered with epmd": False, "directory exists": False}


@pytest.fixture
def shared_connection() -> Iterator[pika.BlockingConnection]:
    """A connection to the shared node, opened before any private node boots."""
    try:
        connection = connect(SHARED_AMQP_URL)
    except pika.exceptions.AMQPConnectionError:
        pytest.skip(f"no shared RabbitMQ at {SHARED_AMQP_URL} to compare with")
    with connection:
        yield connection


def test_a_private_node_serves_amqp_on_its_own_port_while_the_shared_node_is_untouched(
    shared_connection: pika.BlockingConnection,
    private_broker_factory: Callable[..., PrivateBroker],
) -> None:
    started = time.monotonic()
    broker = private_broker_factory()
    boot_seconds = time.monotonic() - started
    assert broker.amqp_port != 5672
    assert broker.node != "rabbit@localhost"
    with connect(broker.amqp_url) as connection:
        channel = connection.channel()
        channel.queue_declare("only.on.the.private.node", durable=True)
        assert connection.is_open

    broker.stop_app()
    broker.start_app()
    home, name = broker.home, broker.name
    broker.close()
    assert leftovers(home, name) == NOTHING_LEFT

    # The connection opened before the private node existed outlived it, on a node that
    # never saw the private node's queue.
    assert shared_connection.is_open
    shared_connection.process_data_events(time_limit=0)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as not_here:
        shared_connection.channel().queue_declare("only.on.the.private.node", passive=True)
    assert not_here.value.reply_code == 404
    assert "rabbit" in _epmd_names()
    print(f"private node booted in {boot_seconds:.1f} s")


def test_a_confirmed_persistent_message_survives_stop_app_and_start_app(
    private_broker: PrivateBroker,
) -> None:
    publish_confirmed(private_broker, "durable.q", b"kept across the restart")

    private_broker.stop_app()
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        connect(private_broker.amqp_url)
    private_broker.start_app()

    assert bodies_in(private_broker, "durable.q") == [b"kept across the restart"]


def test_a_confirmed_persistent_message_survives_a_full_stop_and_a_crash(
    private_broker: PrivateBroker,
) -> None:
    url = private_broker.amqp_url
    publish_confirmed(private_broker, "durable.q", b"before the stop")
    private_broker.stop()
    assert not private_broker.is_running()
    private_broker.start()
    publish_confirmed(private_broker, "durable.q", b"before the crash")
    private_broker.kill()
    assert not private_broker.is_running()
    private_broker.start()

    assert private_broker.amqp_url == url
    assert bodies_in(private_broker, "durable.q") == [b"before the stop", b"before the crash"]


@pytest.mark.parametrize("resource", ["memory", "disk"])
def test_during_a_resource_alarm_publishers_get_connection_blocked_and_after_it_unblocked(
    private_broker: PrivateBroker, resource: str
) -> None:
    raise_alarm = getattr(private_broker, f"raise_{resource}_alarm")
    clear_alarm = getattr(private_broker, f"clear_{resource}_alarm")
    with connect(private_broker.amqp_url) as connection:
        notices: list[pika.frame.Method] = []
        connection.add_on_connection_blocked_callback(lambda _, frame: notices.append(frame))
        connection.add_on_connection_unblocked_callback(lambda _, frame: notices.append(frame))
        channel = connection.channel()
        channel.queue_declare("alarm.q")

        raise_alarm()
        assert private_broker.alarms() == {resource}
        published = 0

        def blocked() -> bool:  # RabbitMQ blocks a connection when it next publishes
            nonlocal published
            channel.basic_publish("", "alarm.q", b"published during the alarm")
            published += 1
            connection.process_data_events(time_limit=0.2)
            return bool(notices)

        eventually(blocked, "connection.blocked after the alarm", 10, interval=0)
        assert isinstance(notices[0].method, pika.spec.Connection.Blocked)
        assert notices[0].method.reason == f"low on {resource}"

        clear_alarm()
        eventually(
            lambda: connection.process_data_events(time_limit=0.2) or len(notices) >= 2,
            "connection.unblocked once the alarm cleared",
            10,
            interval=0,
        )
        assert isinstance(notices[1].method, pika.spec.Connection.Unblocked)
        assert private_broker.alarms() == set()

        eventually(  # what was held back during the alarm now arrives
            lambda: (
                connection.process_data_events(time_limit=0.1)
                or channel.queue_declare("alarm.q", passive=True).method.message_count >= published
            ),
            "the messages published during the alarm in the queue",
            5,
            interval=0,
        )


def test_a_boot_that_times_out_says_so_with_the_node_log_and_leaves_nothing_behind() -> None:
    with PrivateBroker() as broker:
        with pytest.raises(PrivateBrokerError) as too_slow:
            broker.start(timeout=0.5)
        assert "gave up after 0.5 s waiting for AMQP" in str(too_slow.value)
        assert str(broker.console_file) in str(too_slow.value)
        assert not broker.is_running()
    assert leftovers(broker.home, broker.name) == NOTHING_LEFT


INNER_TESTS = """
import json, os
from testbed.private_broker import PrivateBroker

def record(broker: PrivateBroker) -> None:
    with open(os.environ["RECORD"], "a") as file:
        file.write(json.dumps({"home": str(broker.home), "name": broker.name}) + "\\n")

def test_failing_with_the_app_stopped(private_broker: PrivateBroker) -> None:
    record(private_broker)
    private_broker.stop_app()
    assert False, "this test fails on purpose"

def test_failing_after_the_node_was_killed(private_broker: PrivateBroker) -> None:
    record(private_broker)
    private_broker.kill()
    assert False, "this test fails on purpose"
"""


def test_the_fixture_removes_the_node_after_a_failed_test_whatever_state_it_left(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    record = tmp_path / "record.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "testbed.private_broker", str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "RECORD": str(record), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "2 failed" in result.stdout, result.stdout + result.stderr
    nodes = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(nodes) == 2
    for node in nodes:
        assert leftovers(Path(node["home"]), node["name"]) == NOTHING_LEFT
