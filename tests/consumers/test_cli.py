"""A consumer that could never work refuses to start: one line on stderr and a named exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from slack_fanout.exit_codes import ExitCode
from slack_fanout.topology import consumer_queue
from testbed.processes import python_module, running, slack_fanout
from tests.support.broker import VirtualHost

HANDLER = "testbed.handlers:record"

MISCONFIGURATIONS = [
    pytest.param(
        "no.such.module:f", {}, ExitCode.IMPORT, "cannot import 'no.such.module'", id="unimportable"
    ),
    pytest.param(
        "tests.consumers.fails_at_import:f",
        {},
        ExitCode.IMPORT,
        "RuntimeError: this module fails at import",
        id="fails-at-import",
    ),
    pytest.param(
        "testbed.handlers:missing",
        {},
        ExitCode.IMPORT,
        "has nothing callable named 'missing'",
        id="missing-function",
    ),
    pytest.param("testbed.handlers", {}, ExitCode.IMPORT, "expected package.module:name", id="no-colon"),
    pytest.param(
        HANDLER,
        {"CONSUMER_PREFETCH": "0"},
        ExitCode.CONFIG,
        "CONSUMER_PREFETCH: Input should be",
        id="bad-prefetch",
    ),
    pytest.param(
        HANDLER, {"LOG_LEVEL": "LOUD"}, ExitCode.CONFIG, "LOG_LEVEL: Input should be", id="bad-log-level"
    ),
    pytest.param(
        HANDLER,
        {"SLACK_BOT_TOKEN_FILE": "/no/such/file"},
        ExitCode.CONFIG,
        "SLACK_BOT_TOKEN_FILE=/no/such/file: cannot read it",
        id="unreadable-secret",
    ),
]


@pytest.mark.parametrize(("handler", "env", "exit_code", "message"), MISCONFIGURATIONS)
def test_a_misconfigured_consumer_refuses_to_start_with_one_clear_line(
    tmp_path: Path, handler: str, env: dict[str, str | None], exit_code: int, message: str
) -> None:
    argv = python_module("consumers", "run", "audit", "--handler", handler)
    assert_refused(refusal(argv, env, tmp_path), exit_code, message)


def test_a_command_line_option_is_checked_like_its_setting(tmp_path: Path) -> None:
    argv = python_module("consumers", "run", "audit", "--handler", HANDLER, "--prefetch", "0")
    assert_refused(
        refusal(argv, {}, tmp_path), ExitCode.CONFIG, "CONSUMER_PREFETCH: Input should be greater than 0"
    )


def test_a_consumer_name_that_would_make_a_bad_queue_name_is_refused(tmp_path: Path) -> None:
    argv = python_module("consumers", "run", "Bad Name!", "--handler", HANDLER)
    assert_refused(refusal(argv, {}, tmp_path), ExitCode.CONFIG, "consumer name 'Bad Name!' must be")


@pytest.mark.parametrize("app", ["consumers.primary", "consumers.shadow"])
def test_the_apps_check_their_settings_the_same_way(tmp_path: Path, app: str) -> None:
    refused = refusal(python_module(app), {"CONSUMER_PREFETCH": "-1"}, tmp_path)
    assert_refused(refused, ExitCode.CONFIG, "CONSUMER_PREFETCH: Input should be greater than 0")


def test_a_queue_the_broker_holds_with_other_arguments_stops_the_consumer(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    with vhost.channel() as channel:
        channel.queue_declare(consumer_queue("audit"), durable=True)  # a classic queue, not a quorum one
    argv = python_module("consumers", "run", "audit", "--handler", HANDLER)
    exit_code, output = refusal(argv, {"AMQP_URL": vhost.amqp_url}, tmp_path)
    assert exit_code == ExitCode.DECLARATIONS
    assert "slack-fanout consumer: the broker refused the declarations: PRECONDITION_FAILED" in output
    assert "inequivalent arg" in output and "for queue 'slack.audit'" in output
    assert "Traceback" not in output


def refusal(argv: list[str], env: dict[str, str | None], tmp_path: Path) -> tuple[int, str]:
    """The exit code and the output of a consumer expected to stop by itself."""
    with running(argv, env, tmp_path / "consumer.log") as process:
        exit_code = process.popen.wait(20)
    return exit_code, process.log_text()


def assert_refused(refused: tuple[int, str], exit_code: int, message: str) -> None:
    code, output = refused
    assert code == exit_code, output
    [line] = output.splitlines()
    assert line.startswith("slack-fanout consumer: ")
    assert message in line


def test_a_wsgi_app_that_cannot_be_found_is_refused_like_a_handler(tmp_path: Path) -> None:
    argv = python_module("consumers", "run", "audit", "--wsgi", "testbed.handlers:no_app")
    assert_refused(refusal(argv, {}, tmp_path), ExitCode.IMPORT, "--wsgi 'testbed.handlers:no_app'")


def test_a_shadow_can_never_be_told_to_reply(tmp_path: Path) -> None:
    argv = python_module("consumers", "run", "audit", "--handler", HANDLER, "--reply")
    assert_refused(
        refusal(argv, {"CONSUMER_SHADOW": "true"}, tmp_path),
        ExitCode.CONFIG,
        "a shadow's answer must never reach Slack",
    )


def test_reply_and_shadow_together_on_the_command_line_are_a_usage_error(tmp_path: Path) -> None:
    argv = python_module("consumers", "run", "audit", "--handler", HANDLER, "--reply", "--shadow")
    exit_code, output = refusal(argv, {}, tmp_path)
    assert exit_code == 2
    assert "not allowed with argument" in output


def test_a_refused_login_is_final_one_line_naming_the_user_and_the_vhost(
    vhost: VirtualHost, tmp_path: Path
) -> None:
    wrong_password = vhost.amqp_url.replace(":guest@", ":not-the-password@")
    argv = slack_fanout("consume", "audit", "--handler", HANDLER)
    exit_code, output = refusal(argv, {"AMQP_URL": wrong_password}, tmp_path)
    assert exit_code == ExitCode.LOGIN_REFUSED
    *_started, line = output.splitlines()  # after its "starting" log line: the settings were fine
    assert line == (
        f"slack-fanout consumer: the broker refused the login of user 'guest' to vhost {vhost.name!r}: "
        "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. "
        "For details see the broker logfile."
    )
    assert "not-the-password" not in output and "broker connection failed; retrying" not in output


def test_a_vhost_that_does_not_exist_is_a_refused_login_too(vhost: VirtualHost, tmp_path: Path) -> None:
    no_such_vhost = vhost.amqp_url.replace(f"/{vhost.name}", "/no-such-vhost")
    argv = slack_fanout("consume", "audit", "--handler", HANDLER)
    exit_code, output = refusal(argv, {"AMQP_URL": no_such_vhost}, tmp_path)
    assert exit_code == ExitCode.LOGIN_REFUSED
    assert output.splitlines()[-1].endswith(
        "to vhost 'no-such-vhost': NOT_ALLOWED - vhost no-such-vhost not found"
    )
