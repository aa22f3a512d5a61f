"""The real parts tests and benchmarks both run: processes, private brokers and clusters, fake Slack
servers, signed Slack requests, the sample bots.

``tests/`` and ``bench/`` import from here, never from each other. Not part of the product: the
package is not installed (pyproject.toml's ``packages.find``) nor copied into the image.
"""
