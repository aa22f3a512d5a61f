"""Consumer apps: each reads its own queue bound to ``slack.inbound`` and hands envelopes to a handler."""
