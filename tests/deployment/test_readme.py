"""The README's commands stay true: CI runs its test command verbatim."""

import re

from testbed.processes import REPO


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (REPO / "README.md").read_text(), re.DOTALL)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    [test_command] = [command for command in readme_commands() if "pytest" in command]
    assert test_command in (REPO / ".ci" / "run").read_text().splitlines()


def test_the_readme_scripts_exist_and_are_executable() -> None:
    named = {script for command in readme_commands() for script in re.findall(r"scripts/[\w-]+", command)}
    assert named == {"scripts/make-secrets", "scripts/run-local"}, "the quick start's two scripts"
    for script in named:
        path = REPO / script
        assert path.exists() and path.stat().st_mode & 0o111, script
