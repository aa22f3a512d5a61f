"""The benchmarks and the fault run, each a command: ``python -m bench.NAME`` (docs/performance.md)."""
