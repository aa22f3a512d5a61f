"""The shadow verdict: does the candidate behave in Slack like the primary, request by request?

Reads the behaviour records consumers publish (``slack_fanout.behaviour``), joins primary and
candidate per envelope, normalizes what is noise by construction, cancels what a secondary
shows to be noise, and reports per endpoint and field: in the terminal, as JSON, as a web
page and as Prometheus metrics. ``python -m verdict --help``.
"""
