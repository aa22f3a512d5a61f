"""The comparer's config file (TOML): noise thresholds and the fields not to compare.

```toml
[thresholds]          # optional; the command line overrides them
relative = 20.0       # percent
absolute = 0.03       # percent of the endpoint's compared requests
missing = 0.0         # percent of requests a side may miss before the verdict is incomplete

[[ignore]]
endpoint = "command:/deploy"                       # optional; default "*": every endpoint
path = "calls.chat.postMessage[*].arguments.icon_emoji"
reason = "the new version has a new icon"          # optional; shown in the report
```

In ``endpoint`` and ``path`` only ``*`` is special: it matches any run of characters,
dots and brackets included, so ``answer.body.blocks*`` ignores the whole subtree.
A path names a field as the report prints it. TOML comes with Python, so the comparer
needs no parser of its own.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULT_RELATIVE_THRESHOLD = 20.0
DEFAULT_ABSOLUTE_THRESHOLD = 0.03
DEFAULT_MISSING_THRESHOLD = 0.0


class InvalidConfig(ValueError):
    """The config file is unreadable or does not have the documented shape."""


@dataclass(frozen=True)
class Thresholds:
    """Diffy's two thresholds (see ``verdict.noise``) and the share of requests a side may miss;
    all in percent."""

    relative: float = DEFAULT_RELATIVE_THRESHOLD
    absolute: float = DEFAULT_ABSOLUTE_THRESHOLD
    missing: float = DEFAULT_MISSING_THRESHOLD


@dataclass(frozen=True)
class IgnoreRule:
    endpoint: str
    path: str
    reason: str = ""

    def matches(self, endpoint: str, path: str) -> bool:
        return (
            _glob(self.endpoint).fullmatch(endpoint) is not None
            and _glob(self.path).fullmatch(path) is not None
        )


@dataclass(frozen=True)
class Rules:
    thresholds: Thresholds = field(default_factory=Thresholds)
    ignore: tuple[IgnoreRule, ...] = ()

    def ignored(self, endpoint: str, path: str) -> bool:
        return any(rule.matches(endpoint, path) for rule in self.ignore)


def load_rules(path: Path) -> Rules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidConfig(f"{path}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidConfig(f"{path}: not TOML: {error}") from None
    return parse_rules(data, str(path))


def parse_rules(data: dict[str, Any], source: str = "config") -> Rules:
    unknown = set(data) - {"thresholds", "ignore"}
    if unknown:
        raise InvalidConfig(f"{source}: unknown section(s) {sorted(unknown)}; expected thresholds, ignore")
    thresholds = data.get("thresholds", {})
    if not isinstance(thresholds, dict) or set(thresholds) - {"relative", "absolute", "missing"}:
        raise InvalidConfig(f"{source}: [thresholds] takes relative, absolute and missing (percent)")
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(_is_rule(rule) for rule in ignore):
        raise InvalidConfig(f"{source}: each [[ignore]] needs a path, and may have endpoint and reason")
    return Rules(
        thresholds=Thresholds(
            relative=_percent(thresholds.get("relative", DEFAULT_RELATIVE_THRESHOLD), source),
            absolute=_percent(thresholds.get("absolute", DEFAULT_ABSOLUTE_THRESHOLD), source),
            missing=_percent(thresholds.get("missing", DEFAULT_MISSING_THRESHOLD), source),
        ),
        ignore=tuple(
            IgnoreRule(rule.get("endpoint", "*"), rule["path"], rule.get("reason", "")) for rule in ignore
        ),
    )


def _is_rule(rule: Any) -> bool:
    return (
        isinstance(rule, dict)
        and isinstance(rule.get("path"), str)
        and not set(rule) - {"endpoint", "path", "reason"}
        and all(isinstance(value, str) for value in rule.values())
    )


def _percent(value: Any, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise InvalidConfig(f"{source}: a threshold is a percent from 0 to 100, not {value!r}")
    return float(value)


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
