"""Handlers for consumer tests (and the isolation benchmark), steered through environment variables of
the consumer process.

TEST_RECORD_FILE: append each handled envelope's payload text there.
TEST_SLEEP_SECONDS: take this long (after logging "handler started").
TEST_FAIL_ON: raise for messages whose text equals this.
TEST_FAIL_WHILE: raise for every message while this file exists (a downstream that is down).
"""

import os
import time

from consumers.context import Context
from slack_fanout.envelope import Envelope


class Refused(RuntimeError):
    pass


def record(envelope: Envelope, context: Context) -> None:
    text = envelope.payload.get("text", "")
    context.log.info("handler started", extra={"text": text})
    time.sleep(float(os.environ.get("TEST_SLEEP_SECONDS", "0")))
    if text == os.environ.get("TEST_FAIL_ON"):
        raise Refused(f"refusing {text!r}")
    if os.path.exists(os.environ.get("TEST_FAIL_WHILE", "/nonexistent")):
        raise Refused("downstream down")
    with open(os.environ["TEST_RECORD_FILE"], "a") as record_file:
        record_file.write(text + "\n")
