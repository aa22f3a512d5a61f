"""JSON trees as flat ``path -> leaf`` maps: what the comparer diffs, counts and shows.

Paths read like the code that built the value: ``arguments.blocks[0].text.text``.
An empty object or list is a leaf of its own, so ``{}`` and a missing key stay distinct.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of ``value`` under its path, ``prefix`` first."""
    return dict(_leaves(value, prefix))


def keyed_strings(value: Any) -> Iterator[tuple[str, str]]:
    """Each string leaf with the key it sits under (``""`` for a list item at the top)."""
    yield from _keyed_strings(value, "")


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    else:
        yield path, value


def _keyed_strings(value: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for child_key, item in value.items():
            yield from _keyed_strings(item, str(child_key))
    elif isinstance(value, list):
        for item in value:
            yield from _keyed_strings(item, key)
    elif isinstance(value, str):
        yield key, value
