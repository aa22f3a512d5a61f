"""The one table of exit codes every ``slack-fanout`` command returns (docs/cli.md).

A script or a container health check can tell what went wrong from the code alone,
whichever command it ran: a code means the same thing everywhere.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    DIFFERS = 1
    CONFIG = 2
    IMPORT = 3
    DECLARATIONS = 4
    LOGIN_REFUSED = 5
    UNREACHABLE = 6
    CAPTURE = 7
    LINK_DISABLED = 8
    UNSAFE = 9


MEANINGS = {
    ExitCode.OK: "done: the broker is as defined, every queue is healthy, the command finished",
    ExitCode.DIFFERS: "the broker is not as it should be: an object differs or is missing (apply), "
    "a queue needs attention (status), the candidate differs significantly from the primary (verdict)",
    ExitCode.CONFIG: "a bad setting, option or consumer name, or a refused confirmation (replay into the "
    "primary without --yes); command-line usage errors too",
    ExitCode.IMPORT: "the handler or app to run cannot be imported",
    ExitCode.DECLARATIONS: "the broker refused a declaration or a publish (a queue with other arguments, "
    "no permission): retrying cannot help",
    ExitCode.LOGIN_REFUSED: "the broker or its management API refused the login (wrong password, no access "
    "to the vhost); the line names the user and the vhost",
    ExitCode.UNREACHABLE: "the broker or its management API cannot be reached (the consumers and the "
    "gateway keep retrying instead)",
    ExitCode.CAPTURE: "the installed slack_sdk moved a method the capture hooks, so a shadow's calls could "
    "not be kept from Slack: pin slack_sdk to the tested range",
    ExitCode.LINK_DISABLED: "Slack disabled the app's Socket Mode link (link_disabled): turn Socket Mode on "
    "again in the app's settings, or take requests over HTTP",
    ExitCode.UNSAFE: "the candidate cannot be called safe: behaviour records are missing beyond the "
    "threshold or none could be judged, or it opened a connection to Slack outside the capture (verdict)",
}
"""What each code means, for ``slack-fanout --help`` and the table in docs/cli.md (a test compares them)."""
