"""The consumers' handler in the fault run: records each marker it handles; fails while told to.

FAULT_RECORD_FILE: a line per handled request (its marker and the time, in seconds since the
epoch), appended after the work is done.
FAULT_FAIL_FLAG: while this file exists, every message fails (a downstream that is down).
"""

import os
import time
from pathlib import Path

from consumers.context import Context
from slack_fanout.envelope import Envelope


class DownstreamDown(RuntimeError):
    """The handler's downstream is unavailable: the message must be retried later."""


def record(envelope: Envelope, context: Context) -> None:
    if Path(os.environ["FAULT_FAIL_FLAG"]).exists():
        raise DownstreamDown("downstream unavailable (fault injected)")
    with open(os.environ["FAULT_RECORD_FILE"], "a") as record_file:
        record_file.write(f"{envelope.payload['text']} {time.time():.3f}\n")
