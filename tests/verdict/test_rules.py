"""The config file: thresholds and ignore rules in TOML, refused with one clear line when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from verdict.rules import InvalidConfig, Thresholds, load_rules


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "verdict.toml"
    path.write_text(text)
    return path


def test_a_config_file_gives_thresholds_and_ignore_rules(tmp_path: Path) -> None:
    rules = load_rules(
        write(
            tmp_path,
            """
[thresholds]
relative = 10
absolute = 0.5

[[ignore]]
endpoint = "command:/deploy"
path = "calls.chat.postMessage[*].arguments.icon_emoji"
reason = "a new icon"

[[ignore]]
path = "answer.body.blocks*"
""",
        )
    )

    assert rules.thresholds == Thresholds(relative=10.0, absolute=0.5, missing=0.0)
    assert rules.ignored("command:/deploy", "calls.chat.postMessage[3].arguments.icon_emoji")
    assert not rules.ignored("command:/other", "calls.chat.postMessage[3].arguments.icon_emoji")
    assert rules.ignored("event:app_mention", "answer.body.blocks[0].text.text")
    assert not rules.ignored("event:app_mention", "answer.body.text")


@pytest.mark.parametrize(
    "text",
    [
        "[thresholds]\nrelative = 120\n",
        "[thresholds]\nrelative = 'high'\n",
        "[thresholds]\nspeed = 1\n",
        "[[ignore]]\nendpoint = 'command:/deploy'\n",
        "[[ignore]]\npath = 'x'\nwhy = 'typo'\n",
        "[ignores]\n",
        "not toml = = =",
    ],
)
def test_a_wrong_config_is_refused_with_a_reason(tmp_path: Path, text: str) -> None:
    with pytest.raises(InvalidConfig, match=r"verdict\.toml"):
        load_rules(write(tmp_path, text))


def test_a_missing_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="cannot read it"):
        load_rules(tmp_path / "absent.toml")
