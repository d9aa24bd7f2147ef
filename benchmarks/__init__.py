"""Throughput benchmarks, each measured beside a raw baseline on the same infrastructure and run.

Run with `make bench` (or `uv run --frozen python -m benchmarks --help`). Numbers from one
machine only mean something next to the baseline measured in the same run: read the ratios.
"""


class BenchmarkError(RuntimeError):
    """Something did not happen at all (a request failed, events never arrived): no result."""
