"""`python -m benchmarks.matching_writes`: how long one tender takes from consumed to outbox
committed, for tenders that match 100 and 1,000 suppliers.

PostgreSQL comes from tests/support/infrastructure.py (TW_TEST_POSTGRES_DSN, else a local cluster
started on a free port and stopped on exit). No Kafka: the clock stops when the inbox
transaction that holds the matches and their outbox rows commits, before any relay runs.

Three ways to write the same tender, interleaved round by round so they share the load:
- "bulk": the matching service's own handler, through the real inbox consumer;
- "per row": the handler as it was before set-based writes, three statements per supplier;
- "floor": only the SQL, with every value built beforehand: the inbox row, one INSERT of
  the matches and one of the outbox rows. What the database alone costs for these rows.
Services log at INFO, as deployed (to /dev/null, so the table stays readable). What flatters
all three: the project's local cluster runs with fsync and synchronous_commit off (a server
named by TW_TEST_POSTGRES_DSN runs as it is configured), nothing else uses the database, and
no relay reads the outbox meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import ceil
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.table import Table

from tenderwire_matching import repository
from tenderwire_matching.domain.eligibility import classify
from tenderwire_matching.domain.matching import Alert, facts_of
from tenderwire_matching.handlers import TenderHandlers
from tenderwire_matching.live_index import LiveIndex
from tenderwire_matching.match_events import SOURCE, Cause, MatchEvent
from tenderwire_matching.repository import matching_lock, remember
from tenderwire_matching.schemas import SupplierRegistration
from tenderwire_shared import topics
from tenderwire_shared.consumer import BatchConsumer, EachOnItsOwn, Outcome
from tenderwire_shared.db import Connection, create_pool, migrate
from tenderwire_shared.dead_letters import DeadLetters, Record
from tenderwire_shared.envelope import Envelope, RawEnvelope, new_event_id, utc_now
from tenderwire_shared.events.matches import MatchCreated, MatchKind
from tenderwire_shared.events.tenders import (
    TENDER_PUBLISHED,
    Contact,
    Document,
    NoticeType,
    TenderPublished,
    TenderSnapshot,
)
from tenderwire_shared.logging import configure_logging
from tenderwire_shared.outbox import WAKE_CHANNEL, OutboxRow, headers_column
from tests.support.infrastructure import postgres_server

# Countries of registration, LDCs among them, so LDC-first ordering has work to do.
COUNTRIES = ("SN", "KE", "BD", "PE", "VN", "ET", "GH", "NP")
LANGUAGES = ("en", "fr", "es")
GROUP = "matching"


@dataclass(frozen=True)
class Sample:
    size: int
    variant: str
    ms: float


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.matching_writes", description=__doc__
    )
    parser.add_argument(
        "--sizes", default="100,1000", help="suppliers each tender matches, comma-separated"
    )
    parser.add_argument("--rounds", type=int, default=15, help="timed tenders per size and variant")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    parser.add_argument(
        "--variants",
        default="bulk,per row,floor",
        help="which of bulk, per row, floor to run (only bulk, to profile it)",
    )
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.variants = [v.strip() for v in args.variants.split(",")]
    unknown = set(args.variants) - {"bulk", "per row", "floor"}
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    if args.rounds < 1 or min(args.sizes) < 1:
        parser.error("--rounds and every size must be at least 1")
    return args


def tender(code: str) -> TenderSnapshot:
    """A realistic notice: a paragraph of description, two documents, a contact."""
    tender_id = new_event_id()
    return TenderSnapshot(
        tender_id=tender_id,
        revision=1,
        agency="UNICEF",
        reference=f"RFQ-BENCH-{tender_id[-12:]}",
        title="Isolation gowns for health centres",
        description=(
            "Supply and delivery of disposable isolation gowns (AAMI level 2, non-sterile,"
            " sizes M to XXL) for district health centres, under a long-term agreement of two"
            " years with an option for one more.\n\nDelivery DAP to the regional medical"
            " stores in Dakar, Tambacounda and Kayes, in three lots."
        ),
        language="en",
        notice_type=NoticeType.REQUEST_FOR_QUOTATION,
        unspsc_codes=(code,),
        beneficiary_countries=("SN", "ML"),
        deadline=datetime.now(UTC) + timedelta(days=30),
        deadline_utc_offset_minutes=60,
        published_at=utc_now(),
        documents=(
            Document(
                title="Request for quotation and technical specifications",
                url="https://www.ungm.org/UNUser/Documents/DownloadPublicDocument?docId=1",  # type: ignore[arg-type]
            ),
            Document(
                title="General terms and conditions",
                url="https://www.unicef.org/supply/media/general-terms-and-conditions.pdf",  # type: ignore[arg-type]
            ),
        ),
        contacts=(Contact(name="Procurement unit", email="dakar.procurement@unicef.org"),),
        url=f"http://127.0.0.1:18001/v1/notices/{tender_id}",  # type: ignore[arg-type]
    )


def published_record(snapshot: TenderSnapshot, offset: int) -> Record:
    envelope = Envelope[TenderPublished](
        type=TENDER_PUBLISHED,
        source="tenderwire/notices",
        subject=snapshot.tender_id,
        correlationid=new_event_id(),
        data=TenderPublished(tender=snapshot),
    )
    return Record(
        topic=topics.TENDERS,
        partition=0,
        offset=offset,
        key=snapshot.tender_id.encode(),
        value=envelope.model_dump_json().encode(),
        headers=tuple(envelope.kafka_headers()),
    )


async def register_suppliers(pool: asyncpg.Pool, code: str, count: int, first: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for number in range(first, first + count):
            registration = SupplierRegistration(
                legal_name=f"Bench supplier {number}",
                country=COUNTRIES[number % len(COUNTRIES)],
                unspsc_codes=[code],
                email=f"supplier{number}@bench.example.org",
                language=LANGUAGES[number % len(LANGUAGES)],  # type: ignore[arg-type]
                timezone="Africa/Dakar",
            )
            supplier_id = new_event_id()
            await repository.insert(
                conn, supplier_id, registration, f"token-{number}", verified=True
            )
            await repository.log_change(conn, supplier_id)


async def _send_per_row(
    conn: Connection, alerts: Sequence[Alert], cause: Cause, *, topic: str, ldc_first: bool
) -> int:
    """services.send_alerts and add_to_outbox before set-based writes: a match INSERT, an outbox
    INSERT and a pg_notify per supplier, as they were. Kept here as the baseline."""
    suppliers = {r["id"]: r for r in await repository.rows(conn, [a.supplier_id for a in alerts])}
    ordered = sorted(
        (a for a in alerts if a.supplier_id in suppliers and suppliers[a.supplier_id]["active"]),
        key=lambda a: (
            not (ldc_first and repository.recipient(suppliers[a.supplier_id]).least_developed)
        ),
    )
    sent = 0
    for alert in ordered:
        match_id = new_event_id()
        created = await conn.fetchval(
            "INSERT INTO matches (id, supplier_id, tender_id, revision, kind, codes,"
            " still_matches) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT DO NOTHING RETURNING true",
            match_id,
            alert.supplier_id,
            cause.tender.tender_id,
            cause.tender.revision,
            alert.kind.value,
            list(alert.matched_codes),
            alert.still_matches,
        )
        if not created:
            continue
        event = Envelope[MatchCreated](
            type=f"match.{alert.kind.value}",
            source=SOURCE,
            subject=alert.supplier_id,
            correlationid=cause.correlation_id,
            causationid=cause.causation_id,
            data=MatchCreated(
                match_id=match_id,
                kind=alert.kind,
                recipient=repository.recipient(suppliers[alert.supplier_id]),
                tender=cause.tender,
                matched_codes=alert.matched_codes,
                changes=cause.changes,
                reason=cause.reason,
                still_matches=alert.still_matches,
            ),
        )
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, event_type, value, headers)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            event.id,
            topic,
            alert.supplier_id,
            event.type,
            event.model_dump_json(serialize_as_any=True).encode(),
            headers_column(event),
        )
        await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
        sent += 1
    return sent


def per_row_handler(live: LiveIndex) -> Callable[[Connection, RawEnvelope], Awaitable[None]]:
    """TenderHandlers' published path with the per-row writes it had before."""

    async def handle(conn: Connection, event: RawEnvelope) -> None:
        snapshot = TenderPublished.model_validate(event.data).tender
        await matching_lock(conn)
        if not await remember(conn, snapshot):
            return
        await live.catch_up(conn)
        found = [
            Alert(m.supplier_id, MatchKind.NEW, m.matched_codes)
            for m in live.index.match(facts_of(snapshot))
        ]
        cause = Cause(snapshot, event.correlationid, event.id)
        await _send_per_row(conn, found, cause, topic=topics.MATCHES, ldc_first=True)

    return handle


async def write_floor(pool: asyncpg.Pool, record: Record, live: LiveIndex) -> float:
    """The same rows as the handler writes, every value prepared before the clock starts."""
    envelope = RawEnvelope.model_validate_json(record.value or b"")
    snapshot = TenderPublished.model_validate(envelope.data).tender
    found = live.index.match(facts_of(snapshot))
    async with pool.acquire() as conn:
        rows = await repository.rows(conn, [m.supplier_id for m in found])
    recipients = {r["id"]: repository.recipient(r) for r in rows}
    match_ids = [new_event_id() for _ in found]
    events = [
        OutboxRow.of(
            m.supplier_id,
            MatchEvent(
                type="match.new",
                source=SOURCE,
                subject=m.supplier_id,
                data=MatchCreated(
                    match_id=match_id,
                    kind=MatchKind.NEW,
                    recipient=recipients[m.supplier_id],
                    tender=snapshot,
                    matched_codes=m.matched_codes,
                ),
            ),
        )
        for match_id, m in zip(match_ids, found, strict=True)
    ]
    codes = [json.dumps(m.matched_codes) for m in found]
    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            'INSERT INTO inbox (consumer, event_id, topic, partition, "offset")'
            " VALUES ($1, $2, $3, $4, $5)",
            "floor",
            envelope.id,
            record.topic,
            record.partition,
            record.offset,
        )
        await conn.execute(
            "INSERT INTO matches (id, supplier_id, tender_id, revision, kind, codes)"
            " SELECT m.id, m.supplier_id, $3, 1, 'new',"
            " ARRAY(SELECT jsonb_array_elements_text(m.codes::jsonb))"
            " FROM unnest($1::text[], $2::text[], $4::text[]) AS m(id, supplier_id, codes)",
            match_ids,
            [m.supplier_id for m in found],
            snapshot.tender_id,
            codes,
        )
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, event_type, value, headers)"
            " SELECT r.event_id, $1, r.key, r.event_type, r.value, r.headers::jsonb"
            " FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[])"
            " AS r(event_id, key, event_type, value, headers)",
            topics.MATCHES,
            [e.event_id for e in events],
            [e.key for e in events],
            [e.event_type for e in events],
            [e.value for e in events],
            [e.headers for e in events],
        )
        await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    return (time.perf_counter() - started) * 1000


async def outbox_rows(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox"))


async def timed_consume(pool: asyncpg.Pool, consumer: BatchConsumer, record: Record) -> float:
    started = time.perf_counter()
    outcome = await consumer.handle_one(record)
    elapsed = (time.perf_counter() - started) * 1000
    if outcome is not Outcome.HANDLED:
        raise RuntimeError(f"the tender was not handled: {outcome}")
    return elapsed


async def measure(args: argparse.Namespace, admin_dsn: str, console: Console) -> list[Sample]:
    database = f"bench_matching_{new_event_id()[-8:]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{database}"
    pool = await create_pool(dsn, min_size=2, max_size=4)
    # Never started: a dead letter would stall the run, retrying (and logging dead_letter_retry).
    dead_letters = DeadLetters("127.0.0.1:1")
    # Never started either: handle_one neither polls nor commits.
    kafka = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    try:
        await migrate(pool, "tenderwire_matching.migrations")
        codes = {size: f"{43211500 + index * 100}" for index, size in enumerate(args.sizes)}
        first = 0
        for size in args.sizes:
            await register_suppliers(pool, codes[size], size, first)
            first += size
        countries = [r["country"] for r in await pool.fetch("SELECT country FROM suppliers")]
        ldc = sum(classify(country).least_developed for country in countries)
        console.print(f"{first:,} suppliers registered, {ldc:,} of them in LDCs")
        live = LiveIndex(levels=1)
        async with pool.acquire() as conn:
            await live.load(conn)
        consumers = {
            "bulk": BatchConsumer(
                kafka,
                pool=pool,
                group=GROUP,
                handler=EachOnItsOwn(
                    TenderHandlers(live, matches_topic=topics.MATCHES, ldc_first=True)
                ),
                dead_letters=dead_letters,
                one_at_a_time=True,
            ),
            "per row": BatchConsumer(
                kafka,
                pool=pool,
                group=f"{GROUP}-per-row",
                handler=EachOnItsOwn(per_row_handler(live)),
                dead_letters=dead_letters,
                one_at_a_time=True,
            ),
        }
        samples: list[Sample] = []
        offset = 0
        for number in range(args.warmup + args.rounds):
            for size in args.sizes:
                for variant in args.variants:
                    offset += 1
                    record = published_record(tender(codes[size]), offset)
                    before = await outbox_rows(pool)
                    if variant == "floor":
                        ms = await write_floor(pool, record, live)
                    else:
                        ms = await timed_consume(pool, consumers[variant], record)
                    written = await outbox_rows(pool) - before
                    if written != size:
                        raise RuntimeError(f"{variant}: {written} outbox rows for {size} matches")
                    if number >= args.warmup:
                        samples.append(Sample(size, variant, ms))
        return samples
    finally:
        await pool.close()


def nearest_rank(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, ceil(pct / 100 * len(ordered)) - 1)]


def table(samples: Sequence[Sample], sizes: Sequence[int], variants: Sequence[str]) -> Table:
    result = Table(title="consumed → outbox committed, one tender.published (ms)")
    for column in ("matches", "variant", "median", "p95", "min", "median vs bulk"):
        result.add_column(column, justify="right" if column != "variant" else "left")
    for size in sizes:
        bulk = [s.ms for s in samples if s.size == size and s.variant == "bulk"]
        for variant in variants:
            values = [s.ms for s in samples if s.size == size and s.variant == variant]
            ratio = f"{statistics.median(values) / statistics.median(bulk):.2f}x" if bulk else "-"
            result.add_row(
                f"{size:,}",
                variant,
                f"{statistics.median(values):.1f}",
                f"{nearest_rank(values, 95):.1f}",
                f"{min(values):.1f}",
                ratio,
            )
    return result


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    configure_logging("matching", level="INFO", stream=open(os.devnull, "w"))  # noqa: SIM115
    console = Console()
    console.print(
        f"[bold]{shlex.join(['python', '-m', 'benchmarks.matching_writes', *sys.argv[1:]])}[/]"
    )
    console.print(f"{os.cpu_count()} CPUs; load average {load_average()} at start")
    console.print(
        f"{args.rounds} timed rounds (+{args.warmup} warm-up) of each of"
        f" {', '.join(args.variants)}, for tenders matching {', '.join(map(str, args.sizes))}"
    )
    with tempfile.TemporaryDirectory(prefix="tw-bench-matching-") as workdir:
        console.print("starting PostgreSQL...")
        with postgres_server(Path(workdir)) as admin_dsn:
            samples = asyncio.run(measure(args, admin_dsn, console))
    console.print(table(samples, args.sizes, args.variants))
    console.print(f"load average {load_average()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
