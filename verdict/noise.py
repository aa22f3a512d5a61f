"""Noise cancellation: is a field's difference the candidate's, or what the primary's own code does?

The secondary runs the primary's code as a shadow, so whatever differs between primary
and secondary is noise: randomness, clocks, data that moved between two runs. Per field
and endpoint, with ``raw`` the requests where candidate and primary differ in the field,
``noise`` those where secondary and primary do, and ``compared`` the requests compared:

- ``relative = |raw - noise| / (raw + noise) * 100``: how unlike the two counts are;
- ``absolute = |raw - noise| / compared * 100``: how many requests the excess touches.

A field is a **significant** difference when ``raw > noise`` and ``relative >= R`` and
``absolute >= A`` (percent; by default R = 20 and A = 0.03, Diffy's). Without a secondary
``noise`` is 0, so ``relative`` is 100 and only ``absolute`` can excuse a difference: with
the defaults, one differing request in 3,334 or more. Set A to 0 to flag any difference.
"""

from __future__ import annotations

from dataclasses import dataclass

from verdict.rules import Thresholds


@dataclass(frozen=True)
class Judgement:
    raw: int
    noise: int
    relative: float
    absolute: float
    significant: bool


def judge(raw: int, noise: int, compared: int, thresholds: Thresholds) -> Judgement:
    excess = abs(raw - noise)
    relative = excess / (raw + noise) * 100 if raw + noise else 0.0
    absolute = excess / compared * 100 if compared else 0.0
    significant = raw > noise and relative >= thresholds.relative and absolute >= thresholds.absolute
    return Judgement(raw, noise, round(relative, 3), round(absolute, 3), significant)
