"""`python -m benchmarks.matching_index`: MatchIndex at registry scale, beside the naive scan.

Builds a synthetic registry (a million suppliers by default, skewed UNSPSC codes, see
benchmarks/synthetic_suppliers.py), indexes it, and times `MatchIndex.match` per tender,
bucketed by how many suppliers the tender matches: the index's cost grows with the answer.
A few tenders, spread over the buckets, are also answered by `naive_scan` over the same
profiles, for the speed-up and to check both give the same supplier ids.

No assertions on speed: the numbers are printed and saved under .state/bench/.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import resource
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from math import ceil
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.synthetic_suppliers import Generator
from tenderwire_matching.domain.index import MatchIndex
from tenderwire_matching.domain.matching import SupplierProfile, TenderFacts, naive_scan

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / ".state" / "bench"
MB = 1024 * 1024

TARGET_P99_MS = 10.0
TARGET_MAX_MATCHES = 1000  # the latency target covers tenders matching up to this many
TARGET_SPEEDUP = 100.0


@dataclass(frozen=True)
class Bucket:
    label: str
    low: int
    high: int | None  # inclusive; None for no upper bound

    def holds(self, matches: int) -> bool:
        return self.low <= matches and (self.high is None or matches <= self.high)


BUCKETS = (
    Bucket("0", 0, 0),
    Bucket("1-10", 1, 10),
    Bucket("11-100", 11, 100),
    Bucket("101-1,000", 101, 1000),
    Bucket("1,001-10,000", 1001, 10_000),
    Bucket(">10,000", 10_001, None),
)
TARGET_BUCKET = Bucket(f"<={TARGET_MAX_MATCHES:,} (target)", 0, TARGET_MAX_MATCHES)
ALL_BUCKET = Bucket("all", 0, None)


# --- measuring --------------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size now, from /proc/self/statm (pages)."""
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return max(peak, rss_bytes())


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest rank: the smallest value with at least `pct`% of values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class GcPauses:
    """Collections that ran while timing, per generation: how often and for how long."""

    counts: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    total_ms: dict[int, float] = field(default_factory=lambda: {0: 0.0, 1: 0.0, 2: 0.0})
    longest_ms: float = 0.0
    paused_ns: int = 0  # running total, read around each timed call
    _started: int = 0

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
            return
        pause_ns = time.perf_counter_ns() - self._started
        self.paused_ns += pause_ns
        pause_ms = pause_ns / 1e6
        generation = info["generation"]
        self.counts[generation] += 1
        self.total_ms[generation] += pause_ms
        self.longest_ms = max(self.longest_ms, pause_ms)

    @contextlib.contextmanager
    def watching(self) -> Iterator[GcPauses]:
        gc.callbacks.append(self.callback)
        try:
            yield self
        finally:
            gc.callbacks.remove(self.callback)


# --- registry and index -----------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryStats:
    suppliers: int
    generate_s: float
    rss_mb: float
    codes_per_supplier: float
    distinct_codes: int
    class_level_share: float
    with_country_filter: float
    with_agency_filter: float
    with_notice_type_filter: float
    with_keywords: float


@dataclass(frozen=True)
class IndexStats:
    build_s: float
    upsert_us: float
    rss_mb: float  # RSS growth while building
    posting_lists: int
    postings: int
    bitmap_payload_mb: float  # roaring containers' own bytes (outside Python's allocator)
    python_containers_mb: float  # the index's dicts and list (not the profiles they point to)


def make_registry(generator: Generator, count: int) -> tuple[list[SupplierProfile], RegistryStats]:
    gc.collect()
    rss_before = rss_bytes()
    started = time.perf_counter()
    profiles = generator.suppliers(count)
    generate_s = time.perf_counter() - started
    gc.collect()
    return profiles, describe_registry(profiles, generate_s, rss_bytes() - rss_before)


def describe_registry(
    profiles: Sequence[SupplierProfile], generate_s: float, rss_growth: int
) -> RegistryStats:
    count = max(1, len(profiles))
    codes = [code for profile in profiles for code in profile.codes]

    def share(has: Callable[[SupplierProfile], object]) -> float:
        return sum(1 for profile in profiles if has(profile)) / count

    return RegistryStats(
        suppliers=len(profiles),
        generate_s=generate_s,
        rss_mb=rss_growth / MB,
        codes_per_supplier=len(codes) / count,
        distinct_codes=len(set(codes)),
        class_level_share=sum(1 for code in codes if code.endswith("00")) / max(1, len(codes)),
        with_country_filter=share(lambda p: p.beneficiary_countries),
        with_agency_filter=share(lambda p: p.agencies),
        with_notice_type_filter=share(lambda p: p.notice_types),
        with_keywords=share(lambda p: p.keywords),
    )


def build_index(profiles: Sequence[SupplierProfile], levels: int) -> tuple[MatchIndex, IndexStats]:
    gc.collect()
    rss_before = rss_bytes()
    started = time.perf_counter()
    index = MatchIndex(levels)
    for profile in profiles:
        index.upsert(profile)
    build_s = time.perf_counter() - started
    gc.collect()
    rss_growth = rss_bytes() - rss_before
    return index, describe_index(index, build_s, rss_growth, len(profiles))


def describe_index(index: MatchIndex, build_s: float, rss_growth: int, count: int) -> IndexStats:
    # The index's internals, read only to explain where its memory goes.
    posting_lists = [*index._at.values(), *index._under.values()]
    payload = 0
    for bitmap in posting_lists:
        stats = bitmap.get_statistics()
        payload += (
            stats["n_bytes_array_containers"]
            + stats["n_bytes_run_containers"]
            + stats["n_bytes_bitset_containers"]
        )
    python_containers = sum(
        sys.getsizeof(container)
        for container in (index._at, index._under, index._internal, index._profiles)
    ) + sum(sys.getsizeof(bitmap) for bitmap in posting_lists)
    return IndexStats(
        build_s=build_s,
        upsert_us=build_s / max(1, count) * 1e6,
        rss_mb=rss_growth / MB,
        posting_lists=len(posting_lists),
        postings=sum(len(bitmap) for bitmap in posting_lists),
        bitmap_payload_mb=payload / MB,
        python_containers_mb=python_containers / MB,
    )


# --- match latency ----------------------------------------------------------------------------


@dataclass
class TenderTiming:
    matches: int
    candidates: int  # suppliers the posting lists yield, before the filters
    runs_ns: list[int] = field(default_factory=list)
    gc_ns: list[int] = field(default_factory=list)  # collector pauses inside each run

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ns) / 1e6


@dataclass(frozen=True)
class BucketLatency:
    label: str
    tenders: int
    p50_ms: float  # median over rounds of each round's percentile
    p99_ms: float
    p99_without_gc_ms: float  # the same calls, minus the collector's pauses inside them
    max_ms: float
    median_matches: float
    median_candidates: float


def timed_match(index: MatchIndex, tender: TenderFacts, pauses: GcPauses) -> tuple[int, int, int]:
    """Matches found, nanoseconds taken, and nanoseconds of those the collector paused.

    The result is freed after the clock stops: holding it until the next call would bill
    the next tender for freeing this one's (up to tens of thousands of) matches.
    """
    paused = pauses.paused_ns
    began = time.perf_counter_ns()
    found = index.match(tender)
    elapsed_ns = time.perf_counter_ns() - began
    gc_ns = pauses.paused_ns - paused
    matches = len(found)
    del found
    return matches, elapsed_ns, gc_ns


def time_matches(
    index: MatchIndex, tenders: Sequence[TenderFacts], repeat: int, console: Console
) -> tuple[list[TenderTiming], GcPauses]:
    """Every tender matched once per round, in the same order; each call timed on its own.

    The first round meets cold caches, as a service matching each new tender once does.
    """
    timings = [TenderTiming(matches=-1, candidates=-1) for _ in tenders]
    gc.collect()
    with GcPauses().watching() as pauses:
        for round_number in range(1, repeat + 1):
            started = time.perf_counter()
            for timing, tender in zip(timings, tenders, strict=True):
                matches, elapsed_ns, gc_ns = timed_match(index, tender, pauses)
                timing.runs_ns.append(elapsed_ns)
                timing.gc_ns.append(gc_ns)
                if timing.matches not in (-1, matches):
                    raise RuntimeError("the same tender matched differently in two rounds")
                timing.matches = matches
            console.print(
                f"  round {round_number}/{repeat}: {len(tenders)} tenders matched"
                f" in {time.perf_counter() - started:.1f}s"
            )
    for timing, tender in zip(timings, tenders, strict=True):  # untimed, after the rounds
        timing.candidates = len(index.candidates(tender.codes))
    return timings, pauses


def bucket_latency(bucket: Bucket, timings: Sequence[TenderTiming], repeat: int) -> BucketLatency:
    members = [timing for timing in timings if bucket.holds(timing.matches)]
    p50s, p99s, p99s_without_gc, maxima = [], [], [], []
    for r in range(repeat):
        latencies = sorted(timing.runs_ns[r] / 1e6 for timing in members)
        without_gc = sorted((t.runs_ns[r] - t.gc_ns[r]) / 1e6 for t in members)
        p50s.append(percentile(latencies, 50))
        p99s.append(percentile(latencies, 99))
        p99s_without_gc.append(percentile(without_gc, 99))
        maxima.append(latencies[-1] if latencies else float("nan"))
    return BucketLatency(
        label=bucket.label,
        tenders=len(members),
        p50_ms=statistics.median(p50s),
        p99_ms=statistics.median(p99s),
        p99_without_gc_ms=statistics.median(p99s_without_gc),
        max_ms=max(maxima),
        median_matches=statistics.median([t.matches for t in members]) if members else 0,
        median_candidates=statistics.median([t.candidates for t in members]) if members else 0,
    )


# --- naive scan baseline ----------------------------------------------------------------------


@dataclass(frozen=True)
class NaiveComparison:
    tender_number: int
    codes: tuple[str, ...]
    matches: int
    naive_ms: float
    index_ms: float  # median of the tender's timed rounds
    agree: bool
    only_index: list[str]  # a few ids one side found and the other did not
    only_naive: list[str]

    @property
    def speedup(self) -> float:
        return self.naive_ms / self.index_ms if self.index_ms else float("inf")


def spread_over_buckets(timings: Sequence[TenderTiming], count: int) -> list[int]:
    """Tender numbers taken in turn from each non-empty bucket, spaced out within it."""
    members = [
        [number for number, timing in enumerate(timings) if bucket.holds(timing.matches)]
        for bucket in BUCKETS
    ]
    wanted = [0] * len(members)
    total = min(count, len(timings))
    while sum(wanted) < total:
        for position, numbers in enumerate(members):
            if wanted[position] < len(numbers) and sum(wanted) < total:
                wanted[position] += 1
    chosen = []
    for take, numbers in zip(wanted, members, strict=True):
        chosen += [numbers[(i * len(numbers)) // take] for i in range(take)]
    return sorted(chosen)


def compare_with_naive(
    index: MatchIndex,
    profiles: Sequence[SupplierProfile],
    tenders: Sequence[TenderFacts],
    timings: Sequence[TenderTiming],
    numbers: Sequence[int],
    console: Console,
) -> list[NaiveComparison]:
    comparisons = []
    for done, number in enumerate(numbers, start=1):
        tender = tenders[number]
        began = time.perf_counter_ns()
        expected = naive_scan(profiles, tender, index.levels)
        naive_ms = (time.perf_counter_ns() - began) / 1e6
        found = sorted(match.supplier_id for match in index.match(tender))
        comparisons.append(
            NaiveComparison(
                tender_number=number,
                codes=tender.codes,
                matches=len(expected),
                naive_ms=naive_ms,
                index_ms=timings[number].median_ms,
                agree=found == expected,
                only_index=sorted(set(found) - set(expected))[:5],
                only_naive=sorted(set(expected) - set(found))[:5],
            )
        )
        console.print(
            f"  naive scan {done}/{len(numbers)}: {len(expected):,} matches in {naive_ms:,.0f} ms",
            highlight=False,
        )
    return comparisons


@dataclass(frozen=True)
class SpeedupSummary:
    tenders: int
    naive_median_ms: float
    index_median_ms: float
    ratio_of_medians: float
    lowest_ratio: float
    disagreements: int


def summarise_speedup(comparisons: Sequence[NaiveComparison]) -> SpeedupSummary | None:
    if not comparisons:
        return None
    naive = statistics.median(c.naive_ms for c in comparisons)
    indexed = statistics.median(c.index_ms for c in comparisons)
    return SpeedupSummary(
        tenders=len(comparisons),
        naive_median_ms=naive,
        index_median_ms=indexed,
        ratio_of_medians=naive / indexed,
        lowest_ratio=min(c.speedup for c in comparisons),
        disagreements=sum(1 for c in comparisons if not c.agree),
    )


# --- profiling (optional) ---------------------------------------------------------------------


def profile_matches(
    index: MatchIndex, tenders: Sequence[TenderFacts], timings: Sequence[TenderTiming]
) -> str:
    """cProfile over one pass of the target tenders (up to TARGET_MAX_MATCHES matches)."""
    chosen = [
        t for t, timing in zip(tenders, timings, strict=True) if TARGET_BUCKET.holds(timing.matches)
    ]
    profiler = cProfile.Profile()
    profiler.enable()
    for tender in chosen:
        index.match(tender)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(15)
    return stream.getvalue()


# --- report -----------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyroaring": version("pyroaring"),
        "load_average_1m_at_start": os.getloadavg()[0],
    }


def registry_table(registry: RegistryStats, index: IndexStats) -> Table:
    table = Table(title=f"Registry of {registry.suppliers:,} suppliers and its index")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = (
        ("suppliers generated in", f"{registry.generate_s:.1f} s"),
        ("  codes per supplier", f"{registry.codes_per_supplier:.2f}"),
        ("  distinct codes held", f"{registry.distinct_codes:,}"),
        ("  codes at class level", f"{registry.class_level_share:.0%}"),
        (
            "  filters: country / agency / type / keywords",
            f"{registry.with_country_filter:.0%} / {registry.with_agency_filter:.0%}"
            f" / {registry.with_notice_type_filter:.0%} / {registry.with_keywords:.0%}",
        ),
        ("  RSS growth (profiles)", f"{registry.rss_mb:,.0f} MB"),
        ("index built in", f"{index.build_s:.1f} s"),
        ("  per upsert", f"{index.upsert_us:.1f} µs"),
        ("  RSS growth (index)", f"{index.rss_mb:,.0f} MB"),
        ("  posting lists / postings", f"{index.posting_lists:,} / {index.postings:,}"),
        ("  roaring payload", f"{index.bitmap_payload_mb:,.1f} MB"),
        ("  dicts, list, bitmap objects", f"{index.python_containers_mb:,.1f} MB"),
    )
    for label, value in rows:
        table.add_row(label, value)
    return table


def milliseconds(value: float) -> str:
    """Three significant-ish figures without wasting columns: 0.315, 36.82, 1,450.2."""
    if value < 10:
        return f"{value:.3f}"
    return f"{value:.2f}" if value < 100 else f"{value:,.1f}"


def latency_table(rows: Sequence[BucketLatency], repeat: int) -> Table:
    table = Table(title=f"MatchIndex.match latency by match-set size (median of {repeat} rounds)")
    columns = ("matches", "tenders", "p50 ms", "p99 ms", "p99 ex-GC", "max ms", "matches", "cand.")
    for name in columns:
        table.add_column(name, justify="left" if name == "matches" else "right")
    for row in rows:
        table.add_row(
            row.label,
            f"{row.tenders:,}",
            milliseconds(row.p50_ms),
            milliseconds(row.p99_ms),
            milliseconds(row.p99_without_gc_ms),
            milliseconds(row.max_ms),
            f"{row.median_matches:,.0f}",
            f"{row.median_candidates:,.0f}",
        )
    return table


def naive_table(comparisons: Sequence[NaiveComparison]) -> Table:
    table = Table(title="naive_scan over the same registry vs MatchIndex.match")
    for name in ("tender", "codes", "matches", "naive ms", "index ms", "speed-up", "same ids"):
        table.add_column(name, justify="left" if name in ("tender", "codes") else "right")
    for c in comparisons:
        table.add_row(
            f"#{c.tender_number}",
            " ".join(c.codes),
            f"{c.matches:,}",
            f"{c.naive_ms:,.0f}",
            milliseconds(c.index_ms),
            f"{c.speedup:,.0f}x",
            "yes" if c.agree else "[bold red]NO[/]",
        )
    return table


def print_verdicts(console: Console, target: BucketLatency, speedup: SpeedupSummary | None) -> None:
    met = target.p99_ms < TARGET_P99_MS
    console.print(
        f"p99 for tenders matching up to {TARGET_MAX_MATCHES:,} suppliers:"
        f" {target.p99_ms:.2f} ms (target < {TARGET_P99_MS:.0f} ms):"
        f" {'[green]met[/]' if met else '[red]missed[/]'}"
    )
    if speedup is None:
        return
    met = speedup.ratio_of_medians >= TARGET_SPEEDUP
    console.print(
        f"naive median {speedup.naive_median_ms:,.0f} ms / index median"
        f" {speedup.index_median_ms:.3f} ms = {speedup.ratio_of_medians:,.0f}x"
        f" (lowest per tender {speedup.lowest_ratio:,.0f}x; target >= {TARGET_SPEEDUP:.0f}x):"
        f" {'[green]met[/]' if met else '[red]missed[/]'}",
        highlight=False,
    )
    if speedup.disagreements:
        console.print(
            f"[bold red]MISMATCH: the index and the naive scan disagree on"
            f" {speedup.disagreements} of {speedup.tenders} tenders: a bug in the index[/]"
        )
    else:
        console.print(f"[green]index and naive scan agree on all {speedup.tenders} tenders[/]")


def write_json(stamp: str, document: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"matching-{stamp}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


# --- main -------------------------------------------------------------------------------------


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.matching_index",
        description="MatchIndex.match latency at registry scale, beside the naive scan.",
    )
    parser.add_argument("--suppliers", type=int, default=1_000_000, help="registry size")
    parser.add_argument("--tenders", type=int, default=1000, help="tenders timed per round")
    parser.add_argument("--repeat", type=int, default=1, help="timing rounds; medians reported")
    parser.add_argument(
        "--naive-tenders", type=int, default=5, help="tenders also answered by naive_scan"
    )
    parser.add_argument("--levels", type=int, default=1, help="MatchIndex(levels)")
    parser.add_argument("--seed", type=int, default=20_240_611, help="synthetic data seed")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() once the registry is indexed, as a long-running service could",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile match() over the target tenders"
    )
    args = parser.parse_args(argv)
    for name in ("suppliers", "tenders", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("naive_tenders", "levels"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    return args


@dataclass(frozen=True)
class Results:
    registry: RegistryStats
    index: IndexStats
    tenders: list[TenderFacts]
    timings: list[TenderTiming]
    latencies: list[BucketLatency]
    pauses: GcPauses
    comparisons: list[NaiveComparison]
    speedup: SpeedupSummary | None

    @property
    def target(self) -> BucketLatency:
        return next(row for row in self.latencies if row.label == TARGET_BUCKET.label)


def print_header(console: Console, command: str, host: dict[str, Any]) -> None:
    console.print(f"[bold]{command}[/]")
    console.print(
        f"{host['cpu_count']} CPUs ({host['cpu_model']}), Python {host['python']},"
        f" pyroaring {host['pyroaring']}, load {host['load_average_1m_at_start']:.2f},"
        f" {host['platform']}",
        highlight=False,
    )


def measure_latency(
    console: Console, index: MatchIndex, tenders: list[TenderFacts], repeat: int
) -> tuple[list[TenderTiming], list[BucketLatency], GcPauses]:
    console.print(f"timing {len(tenders):,} tenders x {repeat} rounds...")
    timings, pauses = time_matches(index, tenders, repeat, console)
    latencies = [
        bucket_latency(bucket, timings, repeat) for bucket in (*BUCKETS, TARGET_BUCKET, ALL_BUCKET)
    ]
    console.print(latency_table(latencies, repeat))
    console.print(
        f"GC while timing: {pauses.counts} collections by generation,"
        f" {sum(pauses.total_ms.values()):.1f} ms in all, longest {pauses.longest_ms:.2f} ms",
        highlight=False,
    )
    return timings, latencies, pauses


def measure_naive(
    console: Console,
    index: MatchIndex,
    profiles: list[SupplierProfile],
    tenders: list[TenderFacts],
    timings: list[TenderTiming],
    count: int,
) -> list[NaiveComparison]:
    numbers = spread_over_buckets(timings, count)
    if not numbers:
        return []
    console.print(f"naive scan of {len(numbers)} tenders over {len(profiles):,} profiles...")
    comparisons = compare_with_naive(index, profiles, tenders, timings, numbers, console)
    console.print(naive_table(comparisons))
    return comparisons


def print_mismatches(console: Console, comparisons: Sequence[NaiveComparison]) -> None:
    for c in comparisons:
        if not c.agree:
            console.print(
                f"[bold red]  tender #{c.tender_number} {c.codes}: only the index found"
                f" {c.only_index}, only the naive scan found {c.only_naive}[/]"
            )


def measure(console: Console, args: argparse.Namespace) -> Results:
    generator = Generator(args.seed)
    console.print(f"generating {args.suppliers:,} suppliers (seed {args.seed})...")
    profiles, registry = make_registry(generator, args.suppliers)
    console.print(f"indexing them (levels={args.levels})...")
    index, indexed = build_index(profiles, args.levels)
    console.print(registry_table(registry, indexed))
    if args.gc_freeze:
        gc.freeze()  # the registry and index leave the collector's generations for good
        console.print(f"gc.freeze(): {gc.get_freeze_count():,} objects frozen")

    tenders = generator.tenders(args.tenders)
    timings, latencies, pauses = measure_latency(console, index, tenders, args.repeat)
    comparisons = measure_naive(console, index, profiles, tenders, timings, args.naive_tenders)
    results = Results(
        registry=registry,
        index=indexed,
        tenders=tenders,
        timings=timings,
        latencies=latencies,
        pauses=pauses,
        comparisons=comparisons,
        speedup=summarise_speedup(comparisons),
    )
    print_verdicts(console, results.target, results.speedup)
    print_mismatches(console, comparisons)
    if args.profile:
        text = profile_matches(index, tenders, timings)
        console.print(text, highlight=False, markup=False, soft_wrap=True)
    return results


def results_document(
    args: argparse.Namespace, command: str, stamp: str, host: dict[str, Any], results: Results
) -> dict[str, Any]:
    return {
        "benchmark": "matching-index",
        "command": command,
        "started_at": stamp,
        "machine": {**host, "load_average_1m_at_end": os.getloadavg()[0]},
        "parameters": {
            name: getattr(args, name)
            for name in ("suppliers", "tenders", "repeat", "naive_tenders", "levels", "seed")
        }
        | {"gc_freeze": args.gc_freeze},
        "targets": {
            "p99_ms_up_to_matches": [TARGET_P99_MS, TARGET_MAX_MATCHES],
            "speedup": TARGET_SPEEDUP,
        },
        "memory": {"rss_at_end_mb": rss_bytes() / MB, "peak_rss_mb": peak_rss_bytes() / MB},
        "registry": asdict(results.registry),
        "index": asdict(results.index),
        "latency_by_matches": [asdict(row) for row in results.latencies],
        "gc_while_timing": {
            "counts": results.pauses.counts,
            "total_ms": results.pauses.total_ms,
            "longest_ms": results.pauses.longest_ms,
        },
        "naive_vs_index": {
            "summary": asdict(results.speedup) if results.speedup else None,
            "tenders": [{**asdict(c), "speedup": c.speedup} for c in results.comparisons],
        },
        "tenders": [
            {
                "codes": list(tender.codes),
                "matches": timing.matches,
                "candidates": timing.candidates,
                "runs_ms": [ns / 1e6 for ns in timing.runs_ns],
                "gc_ms": [ns / 1e6 for ns in timing.gc_ns],
            }
            for tender, timing in zip(results.tenders, results.timings, strict=True)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    console = Console(width=None if sys.stdout.isatty() else 100)  # tables whole in logs
    began = time.perf_counter()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    command = shlex.join(["python", "-m", "benchmarks.matching_index", *sys.argv[1:]])
    host = machine()
    print_header(console, command, host)
    results = measure(console, args)
    wall_s = time.perf_counter() - began
    document = results_document(args, command, stamp, host, results)
    path = write_json(stamp, {**document, "wall_time_s": wall_s})
    console.print(
        f"total wall time {wall_s:.1f}s, peak RSS {peak_rss_bytes() / MB:,.0f} MB;"
        f" results in {path.relative_to(ROOT)}",
        highlight=False,
    )
    return 2 if results.speedup and results.speedup.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
