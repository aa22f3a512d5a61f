"""The seed's Flask bot as both benchmarked systems host it: as it is, and slowed down for a slow shadow.

``seed`` is ``testbed.apps.seed_bot:app`` unchanged. ``slow_seed`` answers the same after
``SEED_SLOW_SECONDS`` (default 0.2), the shadow that takes 200 ms per request.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from testbed.apps.seed_bot import app as seed

__all__ = ["seed", "slow_seed"]


def slow_seed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    time.sleep(float(os.environ.get("SEED_SLOW_SECONDS", "0.2")))
    return seed(environ, start_response)
