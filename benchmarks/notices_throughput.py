"""Publish throughput of the notices service, beside the raw aiokafka producer on the same broker.

One round measures, in this order and each on fresh topics and a fresh database:

1. raw: an idempotent AIOKafkaProducer (linger 5 ms, as the relay's) sending N events;
2. relay: an OutboxRelay draining N rows inserted into the outbox beforehand;
3. api: N POST /v1/notices over real HTTP with 16 requests in flight, and end to end until
   a consumer reading the topic from its start has seen all N tender.published events.

This measures; it asserts nothing about speed. It fails only when something did not arrive.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from asyncpg.pool import PoolAcquireContext

from benchmarks import BenchmarkError
from benchmarks.load_client import inline_load, process_load
from benchmarks.payloads import OutgoingEvent, published_events
from tenderwire_notices import services as notices_services
from tenderwire_notices.bootstrap import MIGRATIONS, create_app
from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared import topics
from tenderwire_shared.db import create_pool, migrate
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.events.tenders import TENDER_PUBLISHED
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.outbox import OutboxRelay
from tenderwire_stack.http_server import BackgroundServer
from tests.support.infrastructure import free_port

# The service's own default, so the baseline writes to as many partitions as the service does.
PARTITIONS = int(NoticesSettings.model_fields["topic_partitions"].default)
# Guards against a hang, never a speed limit: a phase that takes this long has failed.
PHASE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Options:
    kafka: str
    admin_dsn: str
    events: int
    requests: int
    concurrency: int
    warmup: int
    client: Literal["inline", "process"]
    run_id: str


@dataclass(frozen=True)
class RawResult:
    events: int
    event_bytes: float
    start_s: float  # producer.start(): connect, metadata, producer id; outside the rate
    send_s: float  # first send until every future resolved

    @property
    def events_per_s(self) -> float:
        return self.events / self.send_s


@dataclass(frozen=True)
class RelayResult:
    events: int
    total_s: float  # relay.start() until the UPDATE marking the last batch returned
    startup_s: float  # relay.start() until its first SELECT: lock, listener, producer start
    select_s: float  # SELECT ... WHERE published_at IS NULL, all batches
    update_s: float  # UPDATE ... SET published_at, all batches
    batches: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.total_s

    @property
    def kafka_s(self) -> float:
        """Everything between SELECT and UPDATE: send, acks, and the loop's own work."""
        return self.total_s - self.startup_s - self.select_s - self.update_s


@dataclass(frozen=True)
class ApiResult:
    requests: int
    concurrency: int
    total_s: float  # first request sent until the last 201 came back
    end_to_end_s: float  # first request sent until the consumer saw the last event
    latencies_s: tuple[float, ...]
    event_bytes: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.total_s

    @property
    def end_to_end_events_per_s(self) -> float:
        return self.requests / self.end_to_end_s

    def percentile_ms(self, p: int) -> float:
        cuts = statistics.quantiles(self.latencies_s, n=100, method="inclusive")
        return cuts[p - 1] * 1000


@dataclass(frozen=True)
class Round:
    raw: RawResult
    relay: RelayResult
    api: ApiResult


def _prefix(options: Options, round_no: int, phase: str) -> str:
    return f"bench-{options.run_id}-r{round_no}-{phase}."


async def _until(ready: Callable[[], bool], what: str, within: float = PHASE_TIMEOUT_S) -> None:
    deadline = time.perf_counter() + within
    while not ready():
        if time.perf_counter() > deadline:
            raise BenchmarkError(f"{what}: not done after {within:.0f}s")
        await asyncio.sleep(0.001)


async def create_database(admin_dsn: str, prefix: str) -> str:
    """A fresh database; its DSN. As tests/support/platform.py makes them, without importing it
    (it imports every service's app, so one service's missing dependency would stop this)."""
    name = f"{prefix}_{new_event_id().replace('-', '')[-12:]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}"))


async def _drop_database(admin_dsn: str, dsn: str) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# --- 1. raw producer ---------------------------------------------------------------------


async def send_raw(kafka: str, topic: str, events: list[OutgoingEvent]) -> RawResult:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True, linger_ms=5)
    started = time.perf_counter()
    try:
        await producer.start()
        sending = time.perf_counter()
        futures = [
            await producer.send(topic, value=e.value, key=e.key.encode(), headers=e.headers)
            for e in events
        ]
        await asyncio.gather(*futures)
        done = time.perf_counter()
    finally:
        await producer.stop()
    return RawResult(
        events=len(events),
        event_bytes=statistics.fmean(len(e.value) for e in events),
        start_s=sending - started,
        send_s=done - sending,
    )


async def measure_raw(options: Options, round_no: int) -> RawResult:
    topic = _prefix(options, round_no, "raw") + topics.TENDERS
    await ensure_topics(options.kafka, [topic], partitions=PARTITIONS)
    return await send_raw(options.kafka, topic, published_events(options.events))


async def warm_up_broker(options: Options) -> None:
    """Untimed: the broker's JIT and page cache warm up before the first timed round."""
    topic = f"bench-{options.run_id}-warmup.{topics.TENDERS}"
    await ensure_topics(options.kafka, [topic], partitions=PARTITIONS)
    await send_raw(options.kafka, topic, published_events(options.events))


# --- 2. outbox relay ---------------------------------------------------------------------


class _TimedPool:
    """Hands the relay its pool, timing the SELECT (`fetch`) and UPDATE (`execute`) it runs.

    The relay takes its lock connection with `acquire()`, which is passed through untimed.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.fetch_s = 0.0
        self.execute_s = 0.0
        self.fetches = 0
        self.first_fetch_at: float | None = None
        self.last_execute_end = 0.0

    def acquire(self) -> PoolAcquireContext[asyncpg.Record]:
        return self._pool.acquire()

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        started = time.perf_counter()
        if self.first_fetch_at is None:
            self.first_fetch_at = started
        try:
            return await self._pool.fetch(query, *args)
        finally:
            self.fetch_s += time.perf_counter() - started
            self.fetches += 1

    async def execute(self, query: str, *args: object) -> str:
        started = time.perf_counter()
        try:
            return await self._pool.execute(query, *args)
        finally:
            self.last_execute_end = time.perf_counter()
            self.execute_s += self.last_execute_end - started


async def _fill_outbox(pool: asyncpg.Pool, topic: str, events: list[OutgoingEvent]) -> None:
    """The rows `add_to_outbox` would write, in one COPY instead of one INSERT each."""
    await pool.copy_records_to_table(
        "outbox",
        columns=["event_id", "topic", "key", "event_type", "value", "headers"],
        records=[
            (e.event_id, topic, e.key, e.event_type, e.value, e.outbox_headers()) for e in events
        ],
    )
    await pool.execute("ANALYZE outbox")


async def measure_relay(options: Options, round_no: int) -> RelayResult:
    topic = _prefix(options, round_no, "relay") + topics.TENDERS
    await ensure_topics(options.kafka, [topic], partitions=PARTITIONS)
    dsn = await create_database(options.admin_dsn, "bench_relay")
    try:
        pool = await create_pool(dsn)
        try:
            await migrate(pool, MIGRATIONS)
            await _fill_outbox(pool, topic, published_events(options.events))
            return await _drain(pool, options)
        finally:
            await pool.close()
    finally:
        await _drop_database(options.admin_dsn, dsn)


async def _drain(pool: asyncpg.Pool, options: Options) -> RelayResult:
    timed = _TimedPool(pool)
    # The relay only calls acquire, fetch and execute, which _TimedPool provides.
    relay = OutboxRelay(cast(asyncpg.Pool, timed), options.kafka, name=f"bench-{new_event_id()}")
    started = time.perf_counter()
    await relay.start()
    try:
        await _until(lambda: relay.published >= options.events, "outbox relay")
        fetch_s, execute_s, fetches = timed.fetch_s, timed.execute_s, timed.fetches
        finished, first_fetch = timed.last_execute_end, timed.first_fetch_at
    finally:
        await relay.stop()
    left = await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    if left:
        raise BenchmarkError(f"outbox relay: {left} rows still unpublished")
    assert first_fetch is not None  # the relay published, so it fetched
    return RelayResult(
        events=options.events,
        total_s=finished - started,
        startup_s=first_fetch - started,
        select_s=fetch_s,
        update_s=execute_s,
        batches=fetches,
    )


# --- 3. through the API --------------------------------------------------------------------


class _Witness:
    """Counts tender.published records on a topic, from offset 0, noting when each batch came."""

    def __init__(self, kafka: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka,
            auto_offset_reset="earliest",
            group_id=None,
            enable_auto_commit=False,
        )
        self._task: asyncio.Task[None] | None = None
        self.count = 0
        self.sizes: list[int] = []
        self.last_at = 0.0

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            arrived = time.perf_counter()
            for records in batch.values():
                for record in records:
                    if dict(record.headers).get("event_type") == TENDER_PUBLISHED.encode():
                        self.count += 1
                        self.sizes.append(len(record.value))
                        self.last_at = arrived

    async def seen(self, count: int) -> float:
        """When the `count`-th event arrived."""
        await _until(lambda: self.count >= count or self._failed(), f"consumer ({count} events)")
        if self._task is not None and self._task.done():
            self._task.result()  # re-raises why the reader stopped
        return self.last_at

    def _failed(self) -> bool:
        return self._task is not None and self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


async def _new_agency(dsn: str) -> str:
    code = f"BENCH{new_event_id()[-8:].upper()}"
    conn = await asyncpg.connect(dsn)
    try:
        await notices_services.create_agency(conn, code, f"Benchmark agency {code}")
        return await notices_services.issue_key(conn, code, label="benchmark")
    finally:
        await conn.close()


async def measure_api(options: Options, round_no: int) -> ApiResult:
    dsn = await create_database(options.admin_dsn, "bench_api")
    try:
        settings = NoticesSettings(
            database_url=dsn,
            kafka_bootstrap_servers=options.kafka,
            topic_prefix=_prefix(options, round_no, "api"),
            log_level="INFO",  # as deployed; its lines go where __main__ sends stderr
        )
        server = BackgroundServer(create_app(settings), port=free_port())
        try:
            await server.start()  # migrations, topics, relay and consumers are up after this
            return await _drive_api(options, server.url, dsn, settings.topic(topics.TENDERS))
        finally:
            await server.stop()
    finally:
        await _drop_database(options.admin_dsn, dsn)


async def _drive_api(options: Options, base_url: str, dsn: str, topic: str) -> ApiResult:
    api_key = await _new_agency(dsn)
    witness = _Witness(options.kafka, topic)
    load = inline_load if options.client == "inline" else process_load
    try:
        await witness.start()
        started, answered, latencies = await load(
            f"{base_url}/v1/notices",
            api_key,
            options.warmup,
            options.requests,
            options.concurrency,
            lambda: witness.seen(options.warmup),  # the warm-up's events are all in
        )
        arrived = await witness.seen(options.warmup + options.requests)
    finally:
        await witness.stop()
    return ApiResult(
        requests=options.requests,
        concurrency=options.concurrency,
        total_s=answered - started,
        end_to_end_s=arrived - started,
        latencies_s=tuple(latencies),
        event_bytes=statistics.fmean(witness.sizes[options.warmup :]),
    )


# --- a round, and clean-up ---------------------------------------------------------------


async def run_round(options: Options, round_no: int) -> Round:
    raw = await measure_raw(options, round_no)
    relay = await measure_relay(options, round_no)
    api = await measure_api(options, round_no)
    return Round(raw=raw, relay=relay, api=api)


async def delete_topics(options: Options) -> None:
    """This run's topics, so an external broker (TW_TEST_KAFKA_BOOTSTRAP_SERVERS) keeps none."""
    admin = AIOKafkaAdminClient(bootstrap_servers=options.kafka)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"bench-{options.run_id}-")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
