"""Medians, ratios, a table for people and a JSON file for later comparison."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.notices_throughput import Round


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    value: Callable[[Round], float]


HEADLINE = (
    Metric("raw_events_per_s", "raw aiokafka producer", "events/s", lambda r: r.raw.events_per_s),
    Metric("relay_events_per_s", "outbox relay", "events/s", lambda r: r.relay.events_per_s),
    Metric("api_requests_per_s", "API POST /v1/notices", "req/s", lambda r: r.api.requests_per_s),
    Metric("api_p50_ms", "  latency p50", "ms", lambda r: r.api.percentile_ms(50)),
    Metric("api_p95_ms", "  latency p95", "ms", lambda r: r.api.percentile_ms(95)),
    Metric("api_p99_ms", "  latency p99", "ms", lambda r: r.api.percentile_ms(99)),
    Metric(
        "e2e_events_per_s",
        "API end to end (on Kafka)",
        "events/s",
        lambda r: r.api.end_to_end_events_per_s,
    ),
)

DETAIL = (
    Metric("raw_event_bytes", "event size, raw and relay", "bytes", lambda r: r.raw.event_bytes),
    Metric("api_event_bytes", "event size, via API", "bytes", lambda r: r.api.event_bytes),
    Metric("raw_start_ms", "raw producer.start()", "ms", lambda r: r.raw.start_s * 1000),
    Metric(
        "relay_startup_ms", "relay start until 1st SELECT", "ms", lambda r: r.relay.startup_s * 1000
    ),
    Metric(
        "relay_select_ms", "relay SELECT (all batches)", "ms", lambda r: r.relay.select_s * 1000
    ),
    Metric("relay_kafka_ms", "relay send+ack+loop", "ms", lambda r: r.relay.kafka_s * 1000),
    Metric(
        "relay_update_ms", "relay UPDATE (all batches)", "ms", lambda r: r.relay.update_s * 1000
    ),
    Metric("relay_batches", "relay SELECTs", "", lambda r: float(r.relay.batches)),
    Metric(
        "e2e_lag_ms",
        "last 201 until last event seen",
        "ms",
        lambda r: (r.api.end_to_end_s - r.api.total_s) * 1000,
    ),
)

RATIOS = (
    Metric("relay_vs_raw", "relay / raw", "", lambda r: r.relay.events_per_s / r.raw.events_per_s),
    Metric(
        "api_vs_raw", "API req/s / raw", "", lambda r: r.api.requests_per_s / r.raw.events_per_s
    ),
    Metric(
        "e2e_vs_raw",
        "API end to end / raw",
        "",
        lambda r: r.api.end_to_end_events_per_s / r.raw.events_per_s,
    ),
    Metric(
        "e2e_vs_relay",
        "API end to end / relay",
        "",
        lambda r: r.api.end_to_end_events_per_s / r.relay.events_per_s,
    ),
)


def summarise(metrics: Sequence[Metric], rounds: Sequence[Round]) -> dict[str, dict[str, Any]]:
    """Per metric: every round's value, and their median, min and max."""
    summary: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        values = [metric.value(r) for r in rounds]
        summary[metric.key] = {
            "unit": metric.unit,
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "rounds": values,
        }
    return summary


def _number(value: float, unit: str) -> str:
    if unit == "":
        return f"{value:.3f}" if value < 0.1 else f"{value:.2f}" if value < 100 else f"{value:,.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def _table(title: str, metrics: Sequence[Metric], rounds: Sequence[Round]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("measure")
    table.add_column("median", justify="right", style="bold")
    table.add_column("min", justify="right")
    table.add_column("max", justify="right")
    table.add_column("unit")
    summary = summarise(metrics, rounds)
    for metric in metrics:
        row = summary[metric.key]
        table.add_row(
            metric.label,
            *(_number(row[k], metric.unit) for k in ("median", "min", "max")),
            metric.unit or "x",
        )
    return table


def print_round(console: Console, number: int, total: int, r: Round, seconds: float) -> None:
    console.print(
        f"round {number}/{total} ({seconds:.0f}s): raw {r.raw.events_per_s:,.0f}/s,"
        f" relay {r.relay.events_per_s:,.0f}/s, API {r.api.requests_per_s:,.0f}/s"
        f" (p50 {r.api.percentile_ms(50):.0f} ms), e2e {r.api.end_to_end_events_per_s:,.0f}/s"
    )


def print_tables(console: Console, rounds: Sequence[Round]) -> None:
    n = len(rounds)
    console.print()
    console.print(_table(f"Notices publish throughput, {n} rounds", HEADLINE, rounds))
    console.print(_table("Ratios (paired per round)", RATIOS, rounds))
    console.print(_table("Where the time goes", DETAIL, rounds))


def write_json(folder: Path, stamp: str, document: dict[str, Any], rounds: Sequence[Round]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"notices-{stamp}.json"
    body = {
        **document,
        "results": summarise(HEADLINE, rounds),
        "ratios": summarise(RATIOS, rounds),
        "details": summarise(DETAIL, rounds),
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path
