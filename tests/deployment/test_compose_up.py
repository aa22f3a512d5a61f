"""The README's own ``scripts/make-secrets && docker compose up --build``, on a real container engine.

The tests' engine (tests.support.engine) runs the stack built on stand-ins for the official base
images (tests.support.standin_images), with every host port free; each check goes through the
published ports, as a user's would. The primary is a seed-style Flask bot moved in unchanged
(compose.override.yaml, as the README shows); the shadow is the example bot. Select with
``-m compose``; a few minutes, most of it image builds on a fresh engine (docs/deployment.md).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import http, slack
from testbed.processes import REPO, free_port
from testbed.waiting import eventually
from tests.support.compose import ComposeProject
from tests.support.engine import Engine, EngineUnavailable, engine_dir, install_missing_packages
from tests.support.standin_images import ensure

pytestmark = pytest.mark.compose

PROJECT = "slack-fanout-smoke"
HOST_PORTS = ("GATEWAY_PORT", "RABBITMQ_AMQP_PORT", "RABBITMQ_MANAGEMENT_PORT", "RABBITMQ_PROMETHEUS_PORT")
APP_SERVICES = ("gateway", "consumer-primary", "consumer-shadow")
CONSUMERS = {"consumer-primary": "primary", "consumer-shadow": "shadow"}
RESPONSE_URL = "http://127.0.0.1:9/commands/T1/1"
"""Loopback inside the primary's container, closed: a late answer is tried there, never off the machine."""
ANSWERED = "/var/lib/slack-fanout/answered.txt"
SEED_PRIMARY = """\
services:
  consumer-primary:
    command: ["slack-fanout", "consume", "primary", "--wsgi", "testbed.apps.seed_bot:app", "--reply"]
    volumes:
      - ./testbed:/app/testbed:ro
    environment:
      SLACK_SIGNING_SECRET_FILE: /run/secrets/slack_signing_secret
      SEED_SIGNING_SECRET: {secret}
      SEED_VERIFICATION_TOKEN: {token}
      SEED_RECORD_FILE: {answered}
    secrets: [slack_bot_token, slack_signing_secret]
"""
"""A bot that answers in its HTTP response, moved behind the gateway unchanged (``--wsgi``)."""


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)\n```", (REPO / "README.md").read_text(), re.DOTALL)


def readme_run_command() -> list[str]:
    """The README's command that runs the whole system, split at ``&&``."""
    [command] = [block for block in readme_blocks("sh") if block.startswith("scripts/make-secrets &&")]
    return [part.strip() for part in command.split("&&")]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """The tests' engine: reused if it runs (.ci/run starts it), else started here and stopped after."""
    try:
        install_missing_packages()
        engine = Engine(engine_dir())
        started = engine.start()
    except EngineUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"no container engine: {error}")
        pytest.skip(f"no container engine: {error}")
    yield engine
    if started:
        engine.stop()


def copy_of_the_project(destination: Path) -> Path:
    """The checkout as a user has it: no virtualenv, no secrets, no caches."""
    ignored = shutil.ignore_patterns(
        ".git", ".venv", "secrets", "__pycache__", "*.egg-info", ".*_cache", ".env"
    )
    shutil.copytree(REPO, destination, ignore=ignored)
    return destination


def forget_a_killed_run(engine: Engine, project: ComposeProject) -> None:
    """Remove what a run killed before its ``down -v`` left: containers, networks, and volumes too,
    those of services this file does not name included (the added consumer's ledger would remember
    requests it handled then)."""
    project.run("down", "-v", "--remove-orphans")
    label = f"label=com.docker.compose.project={PROJECT}"
    volumes = engine.docker("volume", "ls", "-q", "--filter", label).stdout.split()
    if volumes:
        engine.docker("volume", "rm", *volumes)


@pytest.fixture(scope="module")
def stack(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    """The README's command run in a copy of the project, detached; ``down -v`` after, checked clean."""
    directory = copy_of_the_project(tmp_path_factory.mktemp("compose") / "slack-fanout")
    ports = {name: str(free_port()) for name in HOST_PORTS}
    project = ComposeProject(engine, directory, PROJECT, {**ensure(engine).compose_env(), **ports})
    forget_a_killed_run(engine, project)
    make_secrets, compose_up = readme_run_command()
    assert make_secrets == "scripts/make-secrets" and compose_up == "docker compose up --build"
    subprocess.run([str(directory / make_secrets)], cwd=directory, check=True, capture_output=True)
    # The Slack app's values, pasted in as the README says.
    (directory / "secrets" / "slack_signing_secret").write_text(slack.SIGNING_SECRET + "\n")
    (directory / "secrets" / "slack_verification_token").write_text(slack.VERIFICATION_TOKEN + "\n")
    (directory / "compose.override.yaml").write_text(
        SEED_PRIMARY.format(secret=slack.SIGNING_SECRET, token=slack.VERIFICATION_TOKEN, answered=ANSWERED)
    )
    for image in ("PYTHON_IMAGE", "RABBITMQ_IMAGE"):  # nothing may be pulled: every image is here already
        assert engine.docker("image", "inspect", project.variables[image], check=False).returncode == 0
    never_pull = ["--pull", "never"] if project.is_v2 else []
    try:
        project.run("up", "--build", "--detach", *never_pull, timeout=600)
        yield project
    finally:
        down = project.run("down", "-v", check=False)
        label = f"label=com.docker.compose.project={PROJECT}"
        leftovers = [engine.docker(*kind, "-q", "--filter", label).stdout.split()
                     for kind in (("ps", "-a"), ("volume", "ls"), ("network", "ls"))]  # fmt: skip
        engine.docker("image", "prune", "--force")  # the app images this run's build replaced
        assert down.returncode == 0, down.stderr
        assert leftovers == [[], [], []], "containers, volumes, networks left by down -v"


def url(stack: ComposeProject, port: str, path: str = "") -> str:
    return f"http://127.0.0.1:{stack.variables[port]}{path}"


def admin(stack: ComposeProject) -> dict[str, str]:
    password = (stack.directory / "secrets" / "rabbitmq_password_admin").read_text().strip()
    token = base64.b64encode(f"admin:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def get_json(address: str, headers: dict[str, str]) -> object:
    with urllib.request.urlopen(urllib.request.Request(address, headers=headers), timeout=10) as response:
        return json.load(response)


def healthy(stack: ComposeProject) -> bool:
    for service in ("rabbitmq", *APP_SERVICES):
        state = stack.state(service)
        if state["Status"] != "running" or state.get("Health", {}).get("Status", "healthy") != "healthy":
            return False
    return True


@pytest.fixture(scope="module")
def running(stack: ComposeProject) -> ComposeProject:
    """Every service up and healthy, each consumer consuming, the gateway ready on the host."""
    eventually(
        lambda: healthy(stack),
        "every service healthy",
        120,
        interval=0.25,
        context=lambda: stack.run("ps").stdout,
    )
    for service, name in CONSUMERS.items():
        stack.wait_for_log(service, "consuming", consumer=name)
    assert http.get(url(stack, "GATEWAY_PORT", "/readyz")).status == 200
    return stack


def at(path: str, request: slack.SlackRequest) -> slack.SlackRequest:
    return dataclasses.replace(request, path=path)


def test_every_kind_of_request_reaches_the_primary_and_the_shadow_which_sends_nothing(
    running: ComposeProject,
) -> None:
    gateway = url(running, "GATEWAY_PORT")
    command = slack.signed(slack.slash_command("Oslo", RESPONSE_URL), slack.FORM)
    action = slack.signed(slack.block_action(response_url=RESPONSE_URL), slack.FORM)
    webhook = slack.SlackRequest(slack.outgoing_webhook(), {"Content-Type": slack.FORM})  # token, unsigned
    requests = {
        "slash_command": at("/slack/commands", command),
        "event_callback": slack.signed(slack.event_callback(), slack.JSON),
        "interactive": at("/slack/interactive", action),
        "outgoing_webhook": at("/", webhook),
    }
    replies = {kind: http.post(gateway, request) for kind, request in requests.items()}

    assert {kind: reply.status for kind, reply in replies.items()} == dict.fromkeys(requests, 200)
    assert json.loads(replies["slash_command"].body) == {"response_type": "in_channel",
                                                         "text": "Forecast for Oslo: sunny"}  # fmt: skip
    assert json.loads(replies["outgoing_webhook"].body) == {
        "text": "Steve said: googlebot: what is the air-speed velocity"
    }
    for kind in requests:
        for service, name in CONSUMERS.items():
            running.wait_for_log(service, "handled", consumer=name, kind=kind)
    shadow = running.log_records("consumer-shadow")
    recorded = {record["method"] for record in shadow if record["message"] == "slack call recorded"}
    assert {"respond", "chat.postMessage"} <= recorded
    assert not [record for record in shadow if record["message"] in ("late reply", "slack call failed")]


def test_the_management_ui_logs_in_as_admin_and_lists_the_queues_and_prometheus_answers(
    running: ComposeProject,
) -> None:
    management = url(running, "RABBITMQ_MANAGEMENT_PORT")
    assert get_json(f"{management}/api/whoami", admin(running))["name"] == "admin"  # type: ignore[index]
    queues = {queue["name"] for queue in get_json(f"{management}/api/queues", admin(running))}  # type: ignore[attr-defined]
    assert {"slack.primary", "slack.shadow", "slack.archive"} <= queues
    assert b"RabbitMQ Management" in http.get(f"{management}/").body
    assert http.get(f"{management}/api/whoami").status == 401
    metrics = http.get(url(running, "RABBITMQ_PROMETHEUS_PORT", "/metrics"))
    assert metrics.status == 200 and b"rabbitmq_queues" in metrics.body


class Trickle:
    """Slash commands posted one after another, each with its own text, until stopped."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.accepted: list[str] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            text = f"trickle-{number}"
            request = at("/slack/commands", slack.signed(slack.slash_command(text, RESPONSE_URL), slack.FORM))
            try:
                status = http.post(self.gateway, request, timeout=5).status
            except OSError:
                status = 0
            if status == 200:
                self.accepted.append(text)
            else:
                self.refused += 1
            self._stop.wait(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def test_a_broker_restart_under_a_trickle_of_requests_loses_none_that_got_a_200(
    running: ComposeProject,
) -> None:
    trickle = Trickle(url(running, "GATEWAY_PORT"))
    try:
        eventually(
            lambda: len(trickle.accepted) >= 5, "requests accepted before the restart", 60, interval=0.25
        )
        running.run("restart", "rabbitmq", timeout=180)
        after = len(trickle.accepted)
        eventually(
            lambda: len(trickle.accepted) >= after + 5,
            "requests accepted after the restart",
            120,
            interval=0.25,
        )
    finally:
        trickle.stop()

    def answered() -> set[str]:
        result = running.run("exec", "-T", "consumer-primary", "cat", ANSWERED, check=False)
        return set(result.stdout.split())

    missing = lambda: set(trickle.accepted) - answered()  # noqa: E731
    eventually(lambda: not missing(), "every accepted request handled by the primary", 120, interval=0.25,
               context=lambda: f"missing {sorted(missing())}")  # fmt: skip


def add_the_readmes_consumer(stack: ComposeProject) -> None:
    """The README's "In compose" change, made as written: audit.py, the compose entries, its user."""
    [audit_py] = [block for block in readme_blocks("python") if block.startswith("# audit.py")]
    (stack.directory / "audit.py").write_text(audit_py + "\n")
    [entries] = [block for block in readme_blocks("yaml") if "consumer-audit:" in block]
    compose = stack.directory / "compose.yaml"
    text = compose.read_text()
    for section, body in re.findall(r"^(\w+):\n((?:  .*\n?)+)", entries, re.MULTILINE):
        text = text.replace(f"\n{section}:\n", f"\n{section}:\n{body.rstrip()}\n", 1)
    compose.write_text(text)
    [commands] = [block for block in readme_blocks("sh") if "--consumer audit" in block]
    script = commands.replace("docker compose", " ".join(stack.command))
    env = {**stack.env(), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # slack-fanout
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=stack.directory, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_consumer_added_as_the_readme_shows_receives_every_request(running: ComposeProject) -> None:
    add_the_readmes_consumer(running)
    running.wait_for_log("consumer-audit", "consuming", consumer="audit", queue="slack.audit")
    reply = http.post(url(running, "GATEWAY_PORT"), slack.signed(slack.event_callback(), slack.JSON))
    assert reply.status == 200
    seen = running.wait_for_log("consumer-audit", "seen", kind="event_callback")
    assert seen["team"] == "T0001"
    running.wait_for_log("consumer-audit", "handled", consumer="audit", kind="event_callback")

    def users_connected() -> set[str]:  # the management API lists a connection a few seconds late
        connections = get_json(f"{url(running, 'RABBITMQ_MANAGEMENT_PORT')}/api/connections", admin(running))
        return {connection["user"] for connection in connections}  # type: ignore[attr-defined]

    eventually(
        lambda: "audit" in users_connected(), "the consumer connected as its own user", 60, interval=0.25
    )
