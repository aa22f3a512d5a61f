"""A RabbitMQ node of a test's own, for faults that must not touch the shared broker.

``PrivateBroker`` runs the installed RabbitMQ server (``/usr/lib/rabbitmq/bin/rabbitmq-server``)
as a second, independent node: its own node name (``sf-test-<random>@localhost``), its own AMQP,
distribution and (optional) management ports, all on 127.0.0.1, and its own cookie, config,
data and log directories in a temporary directory. A test may stop it, restart it, crash it or
push it into a memory or disk alarm while the shared node (``rabbit@localhost``, port 5672) and
every other test carry on.

Things worth knowing:

* The node runs as the calling user (root in CI). ``/usr/sbin/rabbitmq-server`` is a wrapper that,
  for root, changes to ``/var/lib/rabbitmq`` and ``su``s to the ``rabbitmq`` user, whose home holds
  the *shared* node's Erlang cookie; so the scripts in ``/usr/lib/rabbitmq/bin`` are called
  directly, with ``HOME`` set to the temporary directory. Both the server and ``rabbitmqctl`` (see
  :meth:`PrivateBroker.ctl`) read the cookie from ``$HOME/.erlang.cookie``, a random one per node,
  so a command meant for the private node can never reach the shared one. To talk to a node by
  hand while a test is paused::

      HOME=<broker.home> RABBITMQ_CONF_ENV_FILE=<broker.home>/rabbitmq-env.conf \\
          /usr/lib/rabbitmq/bin/rabbitmqctl -n <broker.node> status

* ``/etc/rabbitmq/rabbitmq-env.conf``, ``rabbitmq.conf`` and ``enabled_plugins`` belong to the
  shared node and are never read: every ``RABBITMQ_*`` path points into the temporary directory,
  and ``RABBITMQ_*``/``ERL_*`` variables of the calling environment are not passed on.
* The node registers with the epmd that is already running for the shared node and leaves it
  running. (Were none running, Erlang would start one, which then outlives the node, as it does
  for any Erlang node.)
* The ports are picked at random below the kernel's ephemeral range, so a client's outgoing
  connection cannot take them while the node is down between :meth:`~PrivateBroker.stop` and
  :meth:`~PrivateBroker.start`; they stay the same for the node's whole life, and so does
  :attr:`~PrivateBroker.amqp_url`.
* Every start puts the node's processes in a new session, and :meth:`~PrivateBroker.close`
  SIGKILLs whatever is left in any of them, so nothing outlives a test. Should the test process
  itself die without cleaning up, the node gets SIGTERM (``setpriv --pdeathsig``) and shuts down:
  create and start brokers from a thread that lives as long as the broker (the main thread in
  pytest), because the signal comes when the *thread* that started the node exits.
* On two cores a fresh boot takes 5 to 7 seconds, a restart with data 4 to 5, stop_app or
  start_app about a second, a graceful stop() about one second (six with management), kill()
  and close() a fraction of one. Plugins are off unless ``management=True``.
* A test process killed with SIGKILL cannot remove the temporary directory (the node itself
  still stops, see above); ``sf-private-broker-*`` directories in the temp dir are such leftovers.

Use the ``private_broker`` fixture (a started node, torn down after the test whatever happened),
``private_broker_factory`` (for options such as ``management=True``, or several nodes), or the
class directly as a context manager.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest

BIN = Path("/usr/lib/rabbitmq/bin")
SERVER = BIN / "rabbitmq-server"
CTL = BIN / "rabbitmqctl"

MEMORY_HIGH_WATERMARK = 0.4  # the node's configured (and RabbitMQ's default) relative watermark
DISK_FREE_LIMIT = "50MB"  # the node's configured (and RabbitMQ's default) disk free limit
EPMD_PORT = 4369

# Ports a private node must never take: the shared node's AMQP, management and distribution
# ports, the range rabbitmqctl uses for its own distribution, and epmd.
_RESERVED_PORTS = frozenset({EPMD_PORT, 5671, 5672, 15672, 25672, *range(35672, 35683)})

Alarm = Literal["memory", "disk"]

# Evaluated on the node: wait until RESOURCE's alarm is raised (WANTED true) or cleared (false).
_AWAIT_ALARM = (
    "Raised = fun() -> lists:any(fun({{resource_limit, R, _}, _}) -> R =:= RESOURCE; (_) -> false end,"
    " rabbit_alarm:get_alarms()) end,"
    " Await = fun Loop(0) -> timeout; Loop(N) -> case Raised() of WANTED -> ok;"
    " _ -> timer:sleep(50), Loop(N - 1) end end,"
    " Await(ATTEMPTS)."
)


# Evaluated on the node: [{Name, Messages}] for every queue of VHOST, with quorum queues'
# messages in at-least-once dead-lettering (messages_dlx, an info item list_queues does not offer).
_QUEUE_MESSAGES = (
    "[begin Info = rabbit_amqqueue:info(Q),"
    " {element(4, amqqueue:get_name(Q)),"
    " proplists:get_value(messages, Info, 0) + proplists:get_value(messages_dlx, Info, 0)} end"
    ' || Q <- rabbit_amqqueue:list(<<"VHOST">>)].'
)


class PrivateBrokerError(RuntimeError):
    """The node did not do what was asked in time; the message ends with its log's tail."""


class PrivateBroker:
    """One private RabbitMQ node; see the module's documentation.

    Nothing runs until :meth:`start`. :meth:`close` (also ``with PrivateBroker() as broker:``)
    always stops everything and removes the temporary directory, in any state.
    """

    def __init__(
        self,
        *,
        management: bool = False,
        username: str = "guest",
        password: str = "guest",
        config: str = "",
        cookie: str | None = None,
    ) -> None:
        """``management`` enables the management plugin on :attr:`management_port`;
        ``username``/``password`` are the default user's (guest/guest works from 127.0.0.1);
        ``config`` is appended to the node's ``rabbitmq.conf`` (new-style ``key = value`` lines);
        ``cookie`` is the Erlang cookie, the same for every node of a cluster (default: a random one).
        """
        if not SERVER.exists() or not CTL.exists():
            raise PrivateBrokerError(f"no RabbitMQ installation at {BIN} to start a private node from")
        self.home = Path(tempfile.mkdtemp(prefix="sf-private-broker-"))
        self.name = f"sf-test-{uuid.uuid4().hex[:10]}"
        self.node = f"{self.name}@localhost"
        self.username = username
        self.password = password
        self.management = management
        ports = _pick_ports(3 if management else 2)
        self.amqp_port = ports[0]
        self.dist_port = ports[1]
        self.management_port: int | None = ports[2] if management else None
        self.log_file = self.home / "log" / f"{self.node}.log"
        self.console_file = self.home / "console.log"  # the server's own stdout and stderr
        self._process: subprocess.Popen[bytes] | None = None
        self._sessions: list[int] = []  # one per start(): every process the node ever had
        self._write_files(config, cookie or uuid.uuid4().hex.upper())
        self._env = self._environment()
        _open_brokers.add(self)

    # -- addresses ----------------------------------------------------------------------------

    @property
    def amqp_url(self) -> str:
        user = urllib.parse.quote(self.username, safe="")
        password = urllib.parse.quote(self.password, safe="")
        return f"amqp://{user}:{password}@127.0.0.1:{self.amqp_port}/%2F"

    @property
    def management_url(self) -> str:
        if self.management_port is None:
            raise PrivateBrokerError("this node was created without management=True")
        return f"http://127.0.0.1:{self.management_port}"

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60, wait: bool = True) -> None:
        """Boot the node (again, after :meth:`stop` or :meth:`kill`, with its data) and return
        once it answers AMQP (and HTTP, with management). On failure the node is killed and
        :class:`PrivateBrokerError` carries its log's tail. With ``wait=False`` it returns at
        once, and :meth:`wait_until_serving` waits (so that several nodes boot side by side)."""
        if self.is_running():
            raise PrivateBrokerError(f"{self.node} is already running (start_app() restarts the app)")
        self._wait_until_unregistered(timeout=10)
        argv = [str(SERVER)]
        if shutil.which("setpriv"):  # the node goes down, gracefully, if the test process dies
            argv = ["setpriv", "--pdeathsig", "TERM", "--", *argv]
        with self.console_file.open("ab") as console:
            self._process = subprocess.Popen(
                argv,
                env=self._env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._sessions.append(self._process.pid)
        if wait:
            self.wait_until_serving(timeout)

    def wait_until_serving(self, timeout: float = 60) -> None:
        """After ``start(wait=False)``: return once the node serves; kill it if it does not."""
        try:
            self._wait_until_serving(timeout)
        except BaseException:
            self._kill_everything()
            raise

    def stop(self, timeout: float = 60) -> None:
        """Shut the whole node down gracefully (as on SIGTERM); its data stays for :meth:`start`."""
        process = self._process
        if process is None or process.poll() is not None:
            self._kill_everything()
            return
        process.send_signal(signal.SIGTERM)  # the script's trap passes SIGTERM on to the VM
        try:
            process.wait(timeout)
            self._wait_for(lambda: not self._members(), "its processes to exit", timeout=10)
        except (subprocess.TimeoutExpired, PrivateBrokerError):
            self._kill_everything()
            raise PrivateBrokerError(
                f"{self.node} did not stop within {timeout} s of SIGTERM and was killed\n{self.log_tail()}"
            ) from None
        self._wait_until_unregistered(timeout=10)

    def kill(self) -> None:
        """SIGKILL the node's Erlang VM, as in a crash; :meth:`start` recovers from its data."""
        beams = [pid for pid in self._members() if _comm(pid) == "beam.smp"]
        if not beams:
            raise PrivateBrokerError(f"{self.node} has no running VM to kill")
        for pid in beams:
            _signal(pid, signal.SIGKILL)
        self._wait_for(lambda: not self._members(), "its processes to exit after SIGKILL", timeout=10)
        self._reap()
        self._wait_until_unregistered(timeout=10)

    def pause(self) -> None:
        """SIGSTOP the node's VM: it holds its connections and answers nothing, as a hung host would."""
        self._signal_vm(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        self._signal_vm(signal.SIGCONT)

    def _signal_vm(self, signum: int) -> None:
        beams = [pid for pid in self._members() if _comm(pid) == "beam.smp"]
        if not beams:
            raise PrivateBrokerError(f"{self.node} has no running VM")
        for pid in beams:
            _signal(pid, signum)

    def stop_app(self, timeout: float = 60) -> None:
        """Stop the RabbitMQ application, leaving the Erlang VM up; clients are disconnected."""
        self.ctl("stop_app", timeout=timeout)
        self._wait_for(lambda: not _port_open(self.amqp_port), f"port {self.amqp_port} to close", timeout)

    def start_app(self, timeout: float = 60) -> None:
        """Start the application again after :meth:`stop_app`, with the data it had."""
        self.ctl("start_app", timeout=timeout)
        self._wait_until_serving(timeout)

    def close(self) -> None:
        """Kill every process the node has ever had and remove its directory. Idempotent, and
        safe in any state: never started, running, app stopped, stopped, killed, half booted."""
        try:
            self._kill_everything()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)
            _open_brokers.discard(self)

    def __enter__(self) -> PrivateBroker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- resource alarms ----------------------------------------------------------------------

    def raise_memory_alarm(self, timeout: float = 10) -> None:
        """Set the memory high watermark far below use, and return once the alarm is raised.

        From then on RabbitMQ stops reading from every publishing connection: a connection that
        publishes gets ``connection.blocked`` (pika: ``add_on_connection_blocked_callback``,
        ``blocked_connection_timeout``). A connection that has not published since the alarm
        gets nothing until it does; consumers are unaffected."""
        self.ctl("set_vm_memory_high_watermark", "0.0000001")
        self._await_alarm("memory", raised=True, timeout=timeout)

    def clear_memory_alarm(self, timeout: float = 10) -> None:
        """Put the watermark back; blocked connections get ``connection.unblocked``."""
        self.ctl("set_vm_memory_high_watermark", str(MEMORY_HIGH_WATERMARK))
        self._await_alarm("memory", raised=False, timeout=timeout)

    def raise_disk_alarm(self, timeout: float = 10) -> None:
        """Set the disk free limit above any disk's size; publishers are blocked as for memory."""
        self.ctl("set_disk_free_limit", str(10**18))
        self._await_alarm("disk", raised=True, timeout=timeout)

    def clear_disk_alarm(self, timeout: float = 10) -> None:
        self.ctl("set_disk_free_limit", DISK_FREE_LIMIT)
        self._await_alarm("disk", raised=False, timeout=timeout)

    def alarms(self) -> set[str]:
        """The resources ("memory", "disk") in alarm on this node right now."""
        output = self.ctl("eval", "rabbit_alarm:get_alarms().")
        return set(re.findall(r"\{resource_limit,(\w+),", output))

    # -- inspection ---------------------------------------------------------------------------

    def ctl(self, *arguments: str, timeout: float = 60) -> str:
        """``rabbitmqctl -n NODE ARGUMENTS...`` with this node's cookie; its stdout."""
        try:
            result = subprocess.run(
                [str(CTL), "-n", self.node, *arguments],
                env=self._env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise PrivateBrokerError(
                f"rabbitmqctl {' '.join(arguments)} took over {timeout} s\n{self.log_tail()}"
            ) from None
        if result.returncode != 0:
            raise PrivateBrokerError(
                f"rabbitmqctl {' '.join(arguments)} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n{self.log_tail()}"
            )
        return result.stdout

    def messages(self, vhost: str = "/") -> dict[str, int]:
        """Every queue's messages in ``vhost`` that are still on their way: ready, delivered but not
        acknowledged, and, for a quorum queue, being dead-lettered at least once (expired, say, and
        not yet confirmed by the target queue), which ``queue.declare`` and ``list_queues`` leave out."""
        output = self.ctl("eval", _QUEUE_MESSAGES.replace("VHOST", vhost.replace('"', "")))
        return {name: int(count) for name, count in re.findall(r'\{<<"([^"]*)">>,(\d+)\}', output)}

    def is_running(self) -> bool:
        """Whether any of the node's processes is alive (the VM, even with its app stopped)."""
        return bool(self._members())

    def pids(self) -> list[int]:
        """Every live process of the node: the start script, the VM and the VM's helpers."""
        return self._members()

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in (self.console_file, self.log_file):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"--- last {lines} lines of {path} ---\n{tail}")
        return "\n".join(parts) or f"(no logs in {self.home})"

    def __repr__(self) -> str:
        return f"PrivateBroker({self.node}, amqp port {self.amqp_port})"

    # -- internals ----------------------------------------------------------------------------

    def _write_files(self, extra_config: str, cookie_value: str) -> None:
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(cookie_value)
        cookie.chmod(0o400)  # Erlang refuses a cookie that others can read
        plugins = "[rabbitmq_management]" if self.management else "[]"
        (self.home / "enabled_plugins").write_text(f"{plugins}.\n")
        (self.home / "rabbitmq-env.conf").write_text("")
        config = [
            f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}",
            f"default_user = {self.username}",
            f"default_pass = {self.password}",
            f"vm_memory_high_watermark.relative = {MEMORY_HIGH_WATERMARK}",
            f"disk_free_limit.absolute = {DISK_FREE_LIMIT}",
        ]
        if self.management_port is not None:
            config += ["management.tcp.ip = 127.0.0.1", f"management.tcp.port = {self.management_port}"]
        (self.home / "rabbitmq.conf").write_text("\n".join([*config, extra_config, ""]))

    def _environment(self) -> dict[str, str]:
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("RABBITMQ_", "ERL_")) and name not in ("HOME", "NOTIFY_SOCKET")
        }
        return {
            **inherited,
            "HOME": str(self.home),  # where the server and rabbitmqctl find .erlang.cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(self.home / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.home / "advanced.config"),  # absent on purpose
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_PID_FILE": str(self.home / "node.pid"),
            # Several VMs share two cores: bound schedulers would fight over them.
            "RABBITMQ_SCHEDULER_BIND_TYPE": "u",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_CRASH_DUMP": str(self.home / "erl_crash.dump"),
        }

    def _wait_until_serving(self, timeout: float) -> None:
        def serving() -> bool:
            if self._process is not None and self._process.poll() is not None:
                raise PrivateBrokerError(
                    f"{self.node} exited with {self._process.returncode} while starting\n{self.log_tail()}"
                )
            if not _amqp_answers(self.amqp_port):
                return False
            return self.management_port is None or _http_answers(self.management_port)

        self._wait_for(serving, f"AMQP on port {self.amqp_port}", timeout)

    def _await_alarm(self, resource: Alarm, raised: bool, timeout: float) -> None:
        """Poll rabbit_alarm on the node itself: one rabbitmqctl call instead of one per poll."""
        attempts = max(1, int(timeout / 0.05))
        expression = (
            _AWAIT_ALARM.replace("RESOURCE", resource)
            .replace("WANTED", "true" if raised else "false")
            .replace("ATTEMPTS", str(attempts))
        )
        if self.ctl("eval", expression, timeout=timeout + 30).strip() != "ok":
            state = "raised" if raised else "cleared"
            raise PrivateBrokerError(f"{resource} alarm not {state} on {self.node} within {timeout} s")

    def _wait_for(self, condition: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise PrivateBrokerError(
                    f"{self.node}: gave up after {timeout} s waiting for {what}\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _wait_until_unregistered(self, timeout: float) -> None:
        """epmd forgets a node when its VM's connection to epmd closes: usually at once."""
        self._wait_for(lambda: self.name not in _epmd_names(), f"epmd to forget {self.name}", timeout)

    def _members(self, *, zombies: bool = False) -> list[int]:
        """The node's processes; with ``zombies``, also dead ones not yet reaped."""
        sessions = set(self._sessions)
        if not sessions:
            return []
        return [pid for pid in _all_pids() if _session_of(pid, zombies=zombies) in sessions]

    def _kill_everything(self) -> None:
        for _ in range(50):
            members = self._members()
            if not members:
                break
            for pid in members:
                _signal(pid, signal.SIGKILL)
            time.sleep(0.1)
        else:
            raise PrivateBrokerError(f"{self.node}: processes {self._members()} survive SIGKILL")
        self._reap()
        # The VM's helpers (erl_child_setup, inet_gethost) and, when the start script died first,
        # the VM itself are orphans now: dead, but listed (<defunct>) until init reaps them.
        # Most inits do at once; give a lazy one a moment so that nothing shows up afterwards.
        deadline = time.monotonic() + 3
        while self._members(zombies=True) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _reap(self) -> None:
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(10)


# -- pytest fixtures -------------------------------------------------------------------------


@pytest.fixture
def private_broker() -> Iterator[PrivateBroker]:
    """A started private node, closed (killed, files removed) after the test whatever happened."""
    _require_rabbitmq()
    with PrivateBroker() as broker:
        broker.start()
        yield broker


@pytest.fixture
def private_broker_factory() -> Iterator[Callable[..., PrivateBroker]]:
    """``private_broker_factory(management=True, ...)`` makes a private node with
    :class:`PrivateBroker`'s options and starts it (unless ``start=False``); every node it made
    is closed after the test."""
    _require_rabbitmq()
    made: list[PrivateBroker] = []

    def make(
        *,
        start: bool = True,
        management: bool = False,
        username: str = "guest",
        password: str = "guest",
        config: str = "",
    ) -> PrivateBroker:
        broker = PrivateBroker(management=management, username=username, password=password, config=config)
        made.append(broker)
        if start:
            broker.start()
        return broker

    try:
        yield make
    finally:
        for broker in made:
            broker.close()


def _require_rabbitmq() -> None:
    if SERVER.exists() and CTL.exists():
        return
    message = f"no RabbitMQ installation at {BIN} to start a private node from"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# -- processes, ports and epmd ---------------------------------------------------------------


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _session_of(pid: int, *, zombies: bool = False) -> int | None:
    fields = _stat_fields(pid)  # state, ppid, pgrp, session, ...
    if fields is None or (fields[0] == "Z" and not zombies):  # a zombie is dead, just not reaped yet
        return None
    return int(fields[3])


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _pick_ports(count: int) -> list[int]:
    """Free ports on 127.0.0.1 below the ephemeral range, none of them the shared node's."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    low = max(low, 12000)
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randrange(10000, low)
        if port in _RESERVED_PORTS or port in chosen:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        chosen.append(port)
    return chosen


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _amqp_answers(port: int) -> bool:
    """Whether the port speaks AMQP 0-9-1: the header gets a connection.start method frame."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            reply = _receive(sock, 11)
    except OSError:
        return False
    # frame type 1 (method), channel 0, 4-byte size, class 10 (connection), method 10 (start)
    return reply[:1] == b"\x01" and reply[7:11] == b"\x00\x0a\x00\x0a"


def _http_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return _receive(sock, 5) == b"HTTP/"
    except OSError:
        return False


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _epmd_names() -> set[str]:
    """The node names epmd knows (NAMES_REQ); empty when no epmd runs."""
    try:
        with socket.create_connection(("127.0.0.1", EPMD_PORT), timeout=2) as sock:
            sock.sendall(b"\x00\x01n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
    except OSError:
        return set()
    return set(re.findall(r"^name (\S+) at port", reply[4:].decode(errors="replace"), re.MULTILINE))


# A broker someone forgot to close (outside pytest, say) still goes when the interpreter does.
_open_brokers: set[PrivateBroker] = set()


@atexit.register
def _close_forgotten_brokers() -> None:
    for broker in list(_open_brokers):
        broker.close()
