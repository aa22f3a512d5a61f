"""Diffy's thresholds: a field counts when its differences exceed the noise, relatively and absolutely."""

from __future__ import annotations

import pytest

from verdict.noise import judge
from verdict.rules import Thresholds

DEFAULTS = Thresholds()


@pytest.mark.parametrize(
    ("raw", "noise", "compared", "significant"),
    [
        (10, 10, 100, False),  # as often as the primary's own code differs from itself
        (12, 10, 100, False),  # relative 9.1% < 20%
        (15, 10, 100, True),  # relative 20% (inclusive), absolute 5%
        (8, 10, 100, False),  # fewer than the noise
        (1, 0, 1000, True),  # no noise: relative 100%, absolute 0.1%
        (1, 0, 5000, False),  # absolute 0.02% < 0.03%
        (0, 0, 100, False),
    ],
)
def test_significance(raw: int, noise: int, compared: int, significant: bool) -> None:
    assert judge(raw, noise, compared, DEFAULTS).significant is significant


def test_the_figures_are_percentages() -> None:
    judgement = judge(15, 5, 200, DEFAULTS)

    assert (judgement.relative, judgement.absolute) == (50.0, 5.0)


def test_an_absolute_threshold_of_zero_flags_any_difference() -> None:
    assert judge(1, 0, 1_000_000, Thresholds(absolute=0)).significant
