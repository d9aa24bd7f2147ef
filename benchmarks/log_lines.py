"""`python -m benchmarks.log_lines`: what the log contract costs per line.

Ours (contract keys, service tag, masking of every value, library-line handling) beside
structlog's bare JSON renderer, both writing the same `event_consumed`-shaped line to an
in-memory stream, in alternating rounds so machine noise hits both alike. Prints medians.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from pathlib import Path

import structlog

from tenderwire_shared.logging import configure_logging, service_context

LINES = 20_000
ROUNDS = 7
FIELDS = {
    "event_id": "01a2151d-ce06-762a-b53b-c9ee5c513e7d",
    "event_type": "match.new",
    "tender_id": "01a2151d-ce06-762a-b53b-c9ee5c513e7e",
    "supplier_id": "01a2148b-2fd6-7b6e-b17e-f3608468b354",
    "correlation_id": "agency-request-42",
    "consumer": "notify",
    "outcome": "handled",
    "duration_ms": 3.21,
}


def _bare(stream: io.StringIO) -> None:
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )


def _lines_per_second(configure: str) -> float:
    stream = io.StringIO()
    if configure == "ours":
        configure_logging("bench", stream=stream)
    else:
        _bare(stream)
    log = structlog.get_logger()
    with service_context("notify"):
        started = time.perf_counter()
        for _ in range(LINES):
            log.info("event_consumed", **FIELDS)
        elapsed = time.perf_counter() - started
    json.loads(stream.getvalue().splitlines()[-1])  # each variant really wrote JSON
    return LINES / elapsed


def main() -> None:
    results: dict[str, list[float]] = {"bare structlog JSON": [], "log contract": []}
    for _ in range(ROUNDS):
        results["bare structlog JSON"].append(_lines_per_second("bare"))
        results["log contract"].append(_lines_per_second("ours"))
    configure_logging("bench")
    bare = statistics.median(results["bare structlog JSON"])
    ours = statistics.median(results["log contract"])
    report = {
        "lines_per_round": LINES,
        "rounds": ROUNDS,
        "bare_lines_per_s": round(bare),
        "contract_lines_per_s": round(ours),
        "contract_us_per_line": round(1e6 / ours, 1),
        "bare_us_per_line": round(1e6 / bare, 1),
        "ratio": round(ours / bare, 2),
        "all_rounds": {k: [round(v) for v in vs] for k, vs in results.items()},
    }
    for name, values in results.items():
        median = statistics.median(values)
        print(
            f"{name:>20}: median {median:>9,.0f} lines/s"
            f" ({min(values):,.0f}-{max(values):,.0f}), {1e6 / median:.1f} µs/line"
        )
    print(f"{'contract / bare':>20}: {ours / bare:.2f}")
    out = Path(".state/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"log-lines-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(report))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
