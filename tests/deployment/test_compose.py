"""compose.yaml and the Dockerfile, checked as far as a machine without a Docker engine allows.

The file is validated by docker-compose; then each app service's own command and
environment run here as local processes against the test broker, with its secrets as files.
"""

from __future__ import annotations

import copy
import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import yaml

from testbed import http, slack, socket_payloads
from testbed.processes import REPO, Process, free_port, http_ok
from testbed.socket_slack import APP_TOKEN, FakeSlack
from tests.deployment.conftest import amqp_url_as, committed_definitions, load_users_file, passwords
from tests.support.broker import VirtualHost

APP_SERVICES = ("gateway", "socket", "consumer-primary", "consumer-shadow")
BROKER_ROLE = {"gateway": "gateway", "socket": "gateway", "consumer-primary": "primary",
               "consumer-shadow": "shadow"}  # fmt: skip
"""The broker user each app service connects as: the Socket Mode ingress only publishes, as the gateway."""


SECRET_SETTINGS = ("AMQP_URL", "SLACK_SIGNING_SECRET", "SLACK_VERIFICATION_TOKEN", "SLACK_BOT_TOKEN")
HOST_PORTS = {"GATEWAY_PORT": 8000, "RABBITMQ_AMQP_PORT": 5672, "RABBITMQ_MANAGEMENT_PORT": 15672,
              "RABBITMQ_PROMETHEUS_PORT": 15692}  # fmt: skip
"""Each host port's variable and default, which is also the port inside its container."""


@functools.cache
def _compose_config(variables: tuple[tuple[str, str], ...]) -> dict:
    return _read_compose_config(dict(variables))


def compose_config(**variables: str) -> dict:
    """compose.yaml as docker-compose reads it, with ``variables`` in the environment (and no others)."""
    return copy.deepcopy(_compose_config(tuple(sorted(variables.items()))))


def _read_compose_config(variables: dict[str, str]) -> dict:
    if not shutil.which("docker-compose"):
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed")
        pytest.skip("docker-compose is not installed")
    command = ["docker-compose", "-f", "compose.yaml", "config"]
    env = {"PATH": os.environ["PATH"], **variables}
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True, env=env)
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid() -> None:
    compose_config()
    assert subprocess.run(["docker-compose", "-f", "compose.yaml", "config", "-q"], cwd=REPO).returncode == 0


def test_the_apps_wait_for_a_healthy_broker_and_get_secrets_as_files() -> None:
    services = compose_config()["services"]
    assert set(services) == {"rabbitmq", *APP_SERVICES}
    assert "healthcheck" in services["rabbitmq"]
    for name in APP_SERVICES:
        service = services[name]
        assert service["depends_on"] == {"rabbitmq": {"condition": "service_healthy"}}
        for variable, value in service["environment"].items():
            assert variable not in SECRET_SETTINGS, f"{name}: {variable} should come from a secret file"
            if variable.endswith("_FILE"):
                assert value.startswith("/run/secrets/")


def secret_names(service: dict) -> set[str]:
    return {secret if isinstance(secret, str) else secret["source"] for secret in service.get("secrets", [])}


def test_each_app_service_gets_only_its_own_broker_secret() -> None:
    services = compose_config()["services"]
    assert secret_names(services["rabbitmq"]) == {"rabbitmq_users"}
    for name, role in BROKER_ROLE.items():
        service = services[name]
        assert service["environment"]["AMQP_URL_FILE"] == f"/run/secrets/amqp_url_{role}"
        broker_secrets = {
            secret for secret in secret_names(service) if secret.startswith(("amqp_url", "rabbitmq"))
        }
        assert broker_secrets == {f"amqp_url_{role}"}, name
    assert "slack_bot_token" not in secret_names(services["consumer-shadow"])


def test_no_secret_value_is_written_in_the_compose_file() -> None:
    text = (REPO / "compose.yaml").read_text()
    for secret_name in ("PASSWORD", "SECRET=", "TOKEN=", "amqp://"):
        assert secret_name not in text


def published_ports(service: dict) -> dict[int, int]:
    """Container port → host port (docker-compose prints them long, or short with an address)."""
    ports = {}
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports[int(port["target"])] = int(port["published"])
        else:
            _address, published, target = port.removesuffix("/tcp").split(":")
            ports[int(target)] = int(published)
    return ports


MOVED = {"RABBITMQ_IMAGE": "local/rabbitmq", "PYTHON_IMAGE": "local/python", "REPLY_PASSTHROUGH": "false",
         **{name: str(20000 + port % 1000) for name, port in HOST_PORTS.items()}}  # fmt: skip


def test_each_host_port_defaults_to_todays_and_comes_from_its_variable() -> None:
    moved = {port: 20000 + port % 1000 for port in HOST_PORTS.values()}
    for variables, expected in (({}, {port: port for port in HOST_PORTS.values()}), (MOVED, moved)):
        services = compose_config(**variables)["services"]
        assert {**published_ports(services["gateway"]), **published_ports(services["rabbitmq"])} == expected


def test_the_official_images_are_the_defaults_and_variables_replace_them() -> None:
    services = compose_config()["services"]
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["gateway"]["build"]["args"] == {"PYTHON_IMAGE": "python:3.11-slim"}
    services = compose_config(**MOVED)["services"]
    assert services["rabbitmq"]["image"] == "local/rabbitmq"
    assert services["consumer-shadow"]["build"]["args"] == {"PYTHON_IMAGE": "local/python"}


def test_the_gateway_passes_the_primarys_answer_through_unless_turned_off() -> None:
    assert compose_config()["services"]["gateway"]["environment"]["REPLY_PASSTHROUGH"] == "true"
    assert compose_config(**MOVED)["services"]["gateway"]["environment"]["REPLY_PASSTHROUGH"] == "false"


def test_the_image_runs_as_a_non_root_user_on_a_slim_base() -> None:
    dockerfile = (REPO / "Dockerfile").read_text().splitlines()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert dockerfile[[line.startswith("FROM") for line in dockerfile].index(True)] == "FROM ${PYTHON_IMAGE}"
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")


@pytest.fixture
def secrets_dir(vhost: VirtualHost, user_prefix: str, tmp_path: Path) -> Path:
    """What scripts/make-secrets writes, its users loaded into the test broker, its URLs pointed at it.

    The broker has the topology, as one booted with rabbitmq/definitions.json does.
    """
    vhost.management.request("POST", "definitions", committed_definitions(vhost.name))
    secrets = tmp_path / "secrets"
    subprocess.run([str(REPO / "scripts" / "make-secrets"), str(secrets)], check=True, capture_output=True)
    load_users_file(vhost, secrets / "rabbitmq_users.json", user_prefix)
    password = passwords(secrets)
    for role in BROKER_ROLE.values():
        (secrets / f"amqp_url_{role}").write_text(amqp_url_as(vhost, user_prefix + role, password[role]))
    (secrets / "slack_signing_secret").write_text(slack.SIGNING_SECRET)
    return secrets


def as_local_process(
    service: dict, secrets: Path, log: Path, port: int, local: dict[str, str] | None = None
) -> Process:
    """The service's command and environment, its /run/secrets files taken from ``secrets``; ``local``
    adds what differs on this machine."""
    env: dict[str, str | None] = {"AMQP_URL": None, "SLACK_SIGNING_SECRET": None}  # only what compose sets
    env |= {
        name: value.replace("/run/secrets", str(secrets)) for name, value in service["environment"].items()
    }
    env |= local or {}
    argv = [arg.replace("0.0.0.0:8000", f"127.0.0.1:{port}") for arg in service["command"]]
    return Process(argv, {**env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}, log)


@pytest.fixture
def compose_services_running_locally(
    secrets_dir: Path, tmp_path: Path
) -> Iterator[tuple[str, dict[str, Process]]]:
    services = compose_config()["services"]
    port = free_port()
    with ExitStack() as stack:
        processes = {}
        for name in ("consumer-primary", "consumer-shadow", "gateway"):
            process = as_local_process(services[name], secrets_dir, tmp_path / f"{name}.log", port)
            stack.callback(process.stop)
            processes[name] = process
            if name != "gateway":
                process.wait_for_log("consuming")
        url = f"http://127.0.0.1:{port}"
        processes["gateway"].wait_for(lambda: http_ok(f"{url}/readyz"), "the gateway to be ready")
        yield url, processes


def test_the_socket_mode_ingress_runs_only_with_its_profile() -> None:
    services = compose_config()["services"]
    assert services["socket"]["profiles"] == ["socket-mode"]
    assert all("profiles" not in service for name, service in services.items() if name != "socket")


def test_the_socket_service_publishes_with_the_gateways_broker_user(
    compose_services_running_locally: tuple[str, dict[str, Process]], secrets_dir: Path, tmp_path: Path
) -> None:
    _url, processes = compose_services_running_locally
    fake = FakeSlack()
    (secrets_dir / "slack_app_token").write_text(APP_TOKEN)
    local = {
        "SLACK_API_URL": fake.api_url,
        "SOCKET_MODE_HEALTH_PORT": str(free_port()),
    }  # not Slack's, not 8001
    service = compose_config()["services"]["socket"]
    socket = as_local_process(service, secrets_dir, tmp_path / "socket.log", 0, local)
    try:
        fake.wait_for_links(2)
        envelope_id = fake.send("events_api", socket_payloads.event_callback())
        fake.wait_for_ack(envelope_id)
        for name in ("consumer-primary", "consumer-shadow"):
            processes[name].wait_for_log("handled", envelope_id=envelope_id)
    finally:
        socket.stop()
        fake.close()


def test_the_compose_services_commands_and_environment_work_as_local_processes(
    compose_services_running_locally: tuple[str, dict[str, Process]],
) -> None:
    url, processes = compose_services_running_locally
    reply = http.post(url, slack.signed(slack.event_callback(), slack.JSON))
    assert reply.status == 200
    for name in ("consumer-primary", "consumer-shadow"):
        processes[name].wait_for_log("handled", kind="event_callback")
