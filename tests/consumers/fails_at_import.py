"""A handler module whose import fails, as a module with a bug at top level would."""

raise RuntimeError("this module fails at import")
