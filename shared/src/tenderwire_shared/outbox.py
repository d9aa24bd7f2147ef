"""Transactional outbox: write events with state, publish them to Kafka afterwards, in order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope
from tenderwire_shared.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = structlog.get_logger()

WAKE_CHANNEL = "outbox_wake"


@dataclass(frozen=True)
class OutboxRow:
    """One event already serialised, for callers that build many values more cheaply than
    `model_dump_json` does one by one (and prove the bytes are the same)."""

    key: str
    event_id: str
    event_type: str
    value: bytes
    headers: str

    @classmethod
    def of(cls, key: str, event: Envelope[Any]) -> OutboxRow:
        # serialize_as_any: an Envelope[BaseModel] must carry its data's own fields, not {}.
        return cls(
            key=key,
            event_id=event.id,
            event_type=event.type,
            value=event.model_dump_json(serialize_as_any=True).encode(),
            headers=headers_column(event),
        )


def headers_column(event: Envelope[Any]) -> str:
    """The outbox's `headers` value: the Kafka headers as JSON pairs of strings."""
    return json.dumps([[k, v.decode()] for k, v in event.kafka_headers()])


async def add_to_outbox(conn: Connection, *, topic: str, key: str, event: Envelope[Any]) -> None:
    """Queue `event` for publication. Call inside the transaction that changes the state."""
    await add_rows_to_outbox(conn, topic=topic, rows=[OutboxRow.of(key, event)])


async def add_many_to_outbox(
    conn: Connection, *, topic: str, items: Sequence[tuple[str, Envelope[Any]]]
) -> None:
    """Queue each (key, event) for publication, in this order, in one statement."""
    await add_rows_to_outbox(conn, topic=topic, rows=[OutboxRow.of(k, e) for k, e in items])


async def add_rows_to_outbox(conn: Connection, *, topic: str, rows: Sequence[OutboxRow]) -> None:
    """Queue serialised events for publication, in this order; one statement, one wake-up."""
    if not rows:
        return
    # Positions come from the sequence as rows are inserted, so the ORDER BY is what makes
    # publication order the order of `rows`. The wake-up rides in the same round trip: the
    # relay reads only after commit, when both are visible together.
    await conn.execute(
        "WITH queued AS ("
        " INSERT INTO outbox (event_id, topic, key, event_type, value, headers)"
        " SELECT r.event_id, $1, r.key, r.event_type, r.value, r.headers::jsonb"
        " FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[])"
        " WITH ORDINALITY AS r(event_id, key, event_type, value, headers, n)"
        " ORDER BY r.n RETURNING 1)"
        " SELECT pg_notify($7, '') FROM (SELECT count(*) FROM queued) AS done",
        topic,
        [r.event_id for r in rows],
        [r.key for r in rows],
        [r.event_type for r in rows],
        [r.value for r in rows],
        [r.headers for r in rows],
        WAKE_CHANNEL,
    )


class OutboxRelay:
    """Publishes unpublished outbox rows with an idempotent producer, oldest first.

    Only one relay per database publishes at a time (a session advisory lock), which keeps
    every key's events in commit order. A crash after Kafka acknowledged a batch but before
    the rows were marked published re-sends that batch: consumers drop the copies by event id.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        bootstrap_servers: str,
        *,
        name: str,
        batch_size: int = 5000,
        poll_interval: float = 1.0,
    ) -> None:
        self._pool = pool
        self._bootstrap = bootstrap_servers
        self._name = name
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.published = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._name}")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            # A graceful exit lets the in-flight batch finish and the lock go; cancel if stuck.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping:
            try:
                await self._run_as_leader()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox_relay_failed", relay=self._name, error=repr(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _run_as_leader(self) -> None:
        lock_key = zlib.crc32(f"outbox:{self._name}".encode()) & 0x7FFF_FFFF
        async with self._pool.acquire() as lock_conn:
            # Another replica holds the lock and publishes; poll until it goes away.
            while not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key):  # noqa: ASYNC110
                await asyncio.sleep(self._poll_interval)
            await lock_conn.add_listener(WAKE_CHANNEL, self._on_notify)
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap, enable_idempotence=True, linger_ms=5
            )
            try:
                await producer.start()
                await self._relay_until_stopped(producer)
            finally:
                await lock_conn.remove_listener(WAKE_CHANNEL, self._on_notify)
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", lock_key)
                await producer.stop()

    async def _relay_until_stopped(self, producer: AIOKafkaProducer) -> None:
        """Publish batch after batch, oldest first, overlapping the database with Kafka.

        A batch is sent only once the one before it is acknowledged, so a key's events land in
        order even when a send fails. The database work is what overlaps: the next batch is
        read while Kafka acknowledges this one, and this one is marked published while the
        next is being sent.
        """
        recording: asyncio.Task[None] | None = None
        unrecorded: list[int] = []
        prefetched: list[asyncpg.Record] | None = None
        try:
            while not self._stopping:
                self._wake.clear()
                # An empty read-ahead may predate a commit whose wake-up was just cleared: only
                # a read made after clearing can send the relay to sleep.
                rows = prefetched if prefetched else await self._fetch(unrecorded)
                prefetched = None
                if not rows:
                    if recording is not None:
                        await recording
                        recording, unrecorded = None, []
                    OUTBOX_BACKLOG.labels(self._name).set(0)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                    continue
                futures, correlation_ids = await self._send(producer, rows)
                sent = [row["position"] for row in rows]
                # Rows sent but not yet marked published must not be read again meanwhile.
                reading = asyncio.create_task(self._fetch([*unrecorded, *sent]))
                try:
                    landed = await asyncio.gather(*futures)
                    if recording is not None:
                        await recording
                except BaseException:
                    reading.cancel()
                    raise
                recording = asyncio.create_task(self._record(rows, landed, correlation_ids))
                unrecorded = sent
                prefetched = await reading
        finally:
            if recording is not None:
                await recording

    async def _fetch(self, skip: list[int]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._pool.fetch(
            "SELECT position, event_id, topic, key, event_type, value, headers FROM outbox"
            " WHERE published_at IS NULL AND position <> ALL($2::bigint[])"
            " ORDER BY position LIMIT $1",
            self._batch_size,
            skip,
        )
        return rows

    async def _send(
        self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]
    ) -> tuple[list[asyncio.Future[RecordMetadata]], list[str | None]]:
        futures = []
        correlation_ids: list[str | None] = []
        for row in rows:
            pairs: list[list[str]] = json.loads(row["headers"])
            correlation_ids.append(next((v for k, v in pairs if k == "correlation_id"), None))
            headers = [(k, v.encode()) for k, v in pairs]
            futures.append(
                await producer.send(
                    row["topic"], value=row["value"], key=row["key"].encode(), headers=headers
                )
            )
        return futures, correlation_ids

    async def _record(
        self,
        rows: list[asyncpg.Record],
        landed: list[RecordMetadata],
        correlation_ids: list[str | None],
    ) -> None:
        await self._pool.execute(
            "UPDATE outbox SET published_at = now(), kafka_partition = landed.part,"
            " kafka_offset = landed.off"
            " FROM unnest($1::bigint[], $2::integer[], $3::bigint[])"
            " AS landed(pos, part, off)"
            " WHERE outbox.position = landed.pos",
            [row["position"] for row in rows],
            [meta.partition for meta in landed],
            [meta.offset for meta in landed],
        )
        self.published += len(rows)
        # A full batch means more may be waiting; the next empty read sets it back to 0.
        OUTBOX_BACKLOG.labels(self._name).set(len(rows) if len(rows) == self._batch_size else 0)
        for row, meta, correlation_id in zip(rows, landed, correlation_ids, strict=True):
            EVENTS_PUBLISHED.labels(row["topic"], row["event_type"]).inc()
            log.info(
                "event_published",
                event_id=row["event_id"],
                event_type=row["event_type"],
                correlation_id=correlation_id,
                topic=row["topic"],
                partition=meta.partition,
                offset=meta.offset,
                key=row["key"],
            )
