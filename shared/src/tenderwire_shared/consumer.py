"""Idempotent consumption: effects and inbox row commit together; poison goes to a DLT
(written by `tenderwire_shared.dead_letters`).

Both consumers read with aiokafka and commit each poll's offsets only after every record of it
is handled or safely on the dead-letter topic. `consuming` gives each record its own
transaction; `consuming_batches` feeds a `BatchHandler` a whole poll in one.

Nothing decodes a record before `RawEnvelope` reads its bytes, whatever its headers claim:
a record either reaches the handler or goes to the DLT, byte for byte, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition
from pydantic import ValidationError

from tenderwire_shared.db import Connection
from tenderwire_shared.dead_letters import DeadLetters, Record, bounded
from tenderwire_shared.envelope import RawEnvelope, supplier_id_of, tender_id_of, utc_now
from tenderwire_shared.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_SECONDS
from tenderwire_shared.settings import DEFAULT_STALL_AFTER_S

log = structlog.get_logger()

# Failures of the database or network: the message is fine, so wait and try again rather
# than dead-letter a good event.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    # A server shutting down or restarting ends the transaction it was in; the next attempt
    # connects again (or finds it down, which is OSError above).
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)

# PostgreSQL refusing the values themselves (a NUL, a number out of range, JSON nested past
# its stack): the same record gets the same answer every time, so retrying only delays it.
REFUSED_BY_DATABASE: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.ProgramLimitExceededError,
)

_ID_CHARS = 128
_MAX_TYPE_LABELS = 64


class PoisonMessageError(Exception):
    """The event can never be handled as it is; it belongs on the dead-letter topic."""


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


Handler = Callable[[Connection, RawEnvelope], Awaitable[None]]

# What a handler raises for a record it can never apply: dead-lettered at once.
_REFUSALS: tuple[type[BaseException], ...] = (
    PoisonMessageError,
    ValidationError,
    *REFUSED_BY_DATABASE,
)


def _report_dead_letter(
    record: Record, *, group: str, topic: str, reason: str, error_type: str
) -> None:
    DEAD_LETTERS.labels(group).inc()
    log.warning(
        "event_dead_lettered",
        consumer=group,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        dead_letter_topic=topic,
        error=bounded(reason),
        error_type=error_type,
    )


def _bound_to(envelope: RawEnvelope, group: str) -> contextlib.AbstractContextManager[None]:
    # Every line about one event carries its ids, as operators grep for them.
    return structlog.contextvars.bound_contextvars(**_ids_of(envelope, group))


def _ids_of(envelope: RawEnvelope, group: str) -> dict[str, Any]:
    return {
        "event_id": envelope.id,
        "event_type": envelope.type,
        "correlation_id": envelope.correlationid,
        "consumer": group,
        **_subjects(envelope.data),
    }


def _subjects(data: dict[str, Any]) -> dict[str, str]:
    ids = {"tender_id": tender_id_of(data), "supplier_id": supplier_id_of(data)}
    return {key: bounded(value, _ID_CHARS) for key, value in ids.items() if value is not None}


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    described = "; ".join(
        f"{'.'.join(bounded(str(p), 64) for p in err['loc']) or '<root>'}:"
        f" {err['msg'].removeprefix('Value error, ')}"
        for err in errors[:10]
    )
    more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
    return bounded(described + more)


def _reason(exc: BaseException) -> str:
    return _describe(exc) if isinstance(exc, ValidationError) else bounded(str(exc))


T = TypeVar("T")


class BatchHandler(Protocol[T]):
    def parse(self, envelope: RawEnvelope) -> T:
        """Pure validation of one event (no I/O). Raise pydantic ValidationError or
        PoisonMessageError for a record that can never be handled: it goes to the DLT alone."""
        ...

    async def apply(self, conn: Connection, items: Sequence[tuple[RawEnvelope, T]]) -> None:
        """Inside the batch's one transaction. Only first-time events (inbox dedupe already
        done), in offset order per partition. Should use set-based SQL and one pg_notify."""
        ...


class EachOnItsOwn:
    """A per-record `Handler` as a BatchHandler: it validates inside its transaction."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def parse(self, envelope: RawEnvelope) -> None:
        return None

    async def apply(self, conn: Connection, items: Sequence[tuple[RawEnvelope, None]]) -> None:
        for envelope, _ in items:
            await self._handler(conn, envelope)


@dataclass(frozen=True)
class _Parsed:
    record: Record
    envelope: RawEnvelope
    item: Any


class _StopRequestedError(Exception):
    """Raised out of a wait when the consumer is asked to stop: abandon the batch uncommitted."""


@dataclass(frozen=True)
class _Failing:
    since: datetime
    error: str


_INSERT_INBOX_ROWS = (
    'INSERT INTO inbox (consumer, event_id, topic, partition, "offset")'
    ' SELECT $1, fresh.event_id, fresh.topic, fresh.partition, fresh."offset"'
    " FROM unnest($2::text[], $3::text[], $4::integer[], $5::bigint[])"
    ' AS fresh(event_id, topic, partition, "offset")'
    " ON CONFLICT DO NOTHING RETURNING event_id"
)

Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


class BatchConsumer:
    """Handles each poll of records and commits its offsets afterwards.

    A poll's records are validated one by one (the invalid go to the DLT alone), then their
    inbox rows and the handler's effects commit together: the whole poll in one transaction,
    or each record in its own with `one_at_a_time`. Only then are the offsets committed, so a
    crash or rebalance before that redelivers records the inbox drops. An offset never moves
    past a record that is neither handled nor on the dead-letter topic.
    """

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        *,
        pool: asyncpg.Pool,
        group: str,
        handler: BatchHandler[Any],
        dead_letters: DeadLetters,
        one_at_a_time: bool = False,
        max_records: int = 500,
        max_wait_ms: int = 50,
        max_attempts: int = 5,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        stall_after_s: float = DEFAULT_STALL_AFTER_S,
    ) -> None:
        self._consumer = consumer
        self._pool = pool
        self.group = group
        self._handler = handler
        self._dead_letters = dead_letters
        self._one_at_a_time = one_at_a_time
        self._max_records = max_records
        self._max_wait_ms = max_wait_ms
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._type_labels: set[str] = set()
        # Progress, for health checks: a consumer that polls but never finishes a batch is stuck.
        self.last_poll_at: datetime | None = None
        self.last_batch_at: datetime | None = None
        self.batches = 0
        self.records_handled = 0
        self.records_duplicate = 0
        self.records_dead_lettered = 0
        self.transient_failures = 0
        self.commit_failures = 0
        # Set while the current batch waits for the database or Kafka to come back.
        self.retrying_since: datetime | None = None
        # What /ready reports: a dead letter that cannot be written, a poll that keeps failing.
        self.dead_letters_failing: _Failing | None = None
        self.polls_failing: _Failing | None = None
        # For spotting a stuck consumer: the next offset to apply per partition, and when a
        # batch last finished (or a poll found nothing to do).
        self._stall_after_s = stall_after_s
        self._next_offsets: dict[TopicPartition, int] = {}
        self.last_progress_at = utc_now()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"batch-consumer-{self.group}")

    async def stop(self, *, grace_s: float = 10.0) -> None:
        """Let the in-flight batch finish; one waiting out an outage, or still running after
        `grace_s`, is abandoned with its offsets uncommitted (the inbox drops the redelivery)."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=grace_s)

    def readiness(self) -> str | None:
        """A readiness check (see `health_router`): None while records flow, else what is wrong."""
        if self.dead_letters_failing is not None:
            failing = self.dead_letters_failing
            return (
                f"consumer {self.group}: dead-letter publishing failing since"
                f" {failing.since.isoformat()}: {failing.error}"
            )
        if self.polls_failing is not None:
            failing = self.polls_failing
            return (
                f"consumer {self.group}: polling failing since {failing.since.isoformat()}:"
                f" {failing.error}"
            )
        if self._task is not None and self._task.done() and not self._stopping.is_set():
            return f"consumer {self.group} has stopped"
        return self._stalled()

    def _stalled(self) -> str | None:
        """Records wait on a partition this consumer holds, and no batch has finished for
        `stall_after_s`: it is stuck (a hung handler, or polls that come back empty although
        the partition has more, as aiokafka's can after a broker restart)."""
        idle_s = (utc_now() - self.last_progress_at).total_seconds()
        if idle_s < self._stall_after_s:
            return None
        waiting = self._waiting()
        if not waiting:
            return None
        return (
            f"consumer {self.group}: {sum(waiting.values())} record(s) waiting on"
            f" {', '.join(sorted(waiting))} and no batch finished for {idle_s:.0f} s"
        )

    def _waiting(self) -> dict[str, int]:
        """Records beyond what this consumer applied, per partition it holds and has read."""
        assigned = self._consumer.assignment()
        waiting = {}
        for tp, next_offset in self._next_offsets.items():
            highwater = self._consumer.highwater(tp) if tp in assigned else None
            if highwater is not None and highwater > next_offset:
                waiting[f"{tp.topic}/{tp.partition}"] = highwater - next_offset
        return waiting

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            batch: Batch = {}
            try:
                batch = await self._consumer.getmany(
                    timeout_ms=self._max_wait_ms, max_records=self._max_records
                )
                self.last_poll_at = utc_now()
                if batch:
                    await self.handle(batch)
                elif not self._waiting():
                    # Caught up: nothing to do is progress. An empty poll while records wait
                    # is not.
                    self.last_progress_at = self.last_poll_at
                attempt, self.polls_failing = 0, None
            except _StopRequestedError:
                return
            except Exception as exc:
                # Nothing past the last committed batch is lost: read this one again.
                attempt += 1
                for tp, records in batch.items():
                    if records and tp in self._consumer.assignment():
                        self._consumer.seek(tp, records[0].offset)
                with structlog.contextvars.bound_contextvars(consumer=self.group):
                    log.exception("consumer_poll_failed", attempt=attempt)
                if self.polls_failing is None:
                    self.polls_failing = _Failing(utc_now(), bounded(repr(exc)))
                try:
                    await self._pause(self._backoff(attempt))
                except _StopRequestedError:
                    return

    async def handle(self, batch: Batch) -> None:
        """Apply one poll's records and commit their offsets; retries until it can."""
        started = time.perf_counter()
        for tp, records in batch.items():
            if records:
                self._next_offsets[tp] = records[0].offset
        parsed: list[_Parsed] = []
        for records in batch.values():
            for raw in records:
                one = await self._parse(Record.from_kafka(raw))
                if one is not None:
                    parsed.append(one)
        if parsed:
            await self._apply(parsed, started)
        HANDLER_SECONDS.labels(self.group).observe(time.perf_counter() - started)
        done = {tp: records[-1].offset + 1 for tp, records in batch.items() if records}
        await self._commit(done)
        self._next_offsets.update(done)
        self.batches += 1
        self.last_batch_at = self.last_progress_at = utc_now()

    async def handle_one(self, record: Record) -> Outcome:
        """One record in its own transaction, offsets untouched: what a poll does to each."""
        parsed = await self._parse(record)
        if parsed is None:
            return Outcome.DEAD_LETTERED
        return await self._apply_alone(parsed)

    async def _parse(self, record: Record) -> _Parsed | None:
        try:
            envelope = RawEnvelope.model_validate_json(record.value or b"")
        except ValidationError as exc:
            await self._dead_letter(record, f"invalid envelope: {_describe(exc)}", exc)
            return None
        except Exception as exc:
            await self._dead_letter(record, f"invalid envelope: {exc!r}", exc)
            return None
        try:
            item = self._handler.parse(envelope)
        except (PoisonMessageError, ValidationError) as exc:
            with _bound_to(envelope, self.group):
                await self._dead_letter(record, _reason(exc), exc)
            return None
        except Exception as exc:
            # parse does no I/O, so trying again gives the same answer; a bug that
            # rejects one record must not stop the consumer for all the others.
            with _bound_to(envelope, self.group):
                await self._dead_letter(record, f"parse failed: {exc!r}", exc)
            return None
        return _Parsed(record, envelope, item)

    async def _apply(self, parsed: list[_Parsed], started: float) -> None:
        if self._one_at_a_time:
            for one in parsed:
                await self._apply_alone(one)
            return
        attempt = 0
        while True:
            attempt += 1
            try:
                fresh = await self._apply_together(parsed)
            except TRANSIENT_ERRORS as exc:
                delay = self._backoff(attempt)
                with structlog.contextvars.bound_contextvars(consumer=self.group):
                    log.warning(
                        "event_retry",
                        attempt=attempt,
                        error=repr(exc),
                        retry_in_s=delay,
                        batch_size=len(parsed),
                    )
                await self._wait_out_failure(delay)
                continue
            except Exception as exc:
                # Which record is to blame is unknown: find it by handling them one at a time.
                with structlog.contextvars.bound_contextvars(consumer=self.group):
                    log.warning("batch_split", error=bounded(repr(exc)), batch_size=len(parsed))
                for one in parsed:
                    await self._apply_alone(one)
                self.retrying_since = None
                return
            self.retrying_since = None
            elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
            for one in parsed:
                first_time = fresh.get(one.envelope.id) is one
                self._consumed(
                    one,
                    Outcome.HANDLED if first_time else Outcome.DUPLICATE,
                    elapsed_ms,
                    batch_size=len(parsed),
                )
            return

    async def _apply_together(self, parsed: list[_Parsed]) -> dict[str, _Parsed]:
        """The first-time records, by event id, after their inbox rows and effects commit."""
        # A repeat inside one poll is a duplicate of its first copy, as in separate polls.
        first_copies: dict[str, _Parsed] = {}
        for one in parsed:
            first_copies.setdefault(one.envelope.id, one)
        unique = list(first_copies.values())
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                _INSERT_INBOX_ROWS,
                self.group,
                [one.envelope.id for one in unique],
                [one.record.topic for one in unique],
                [one.record.partition for one in unique],
                [one.record.offset for one in unique],
            )
            inserted = {row["event_id"] for row in rows}
            fresh = [one for one in unique if one.envelope.id in inserted]
            if fresh:
                await self._handler.apply(conn, [(one.envelope, one.item) for one in fresh])
        return {one.envelope.id: one for one in fresh}

    async def _apply_alone(self, one: _Parsed) -> Outcome:
        """One record in its own transaction: transient failures are waited out, refusals
        dead-lettered at once, anything else retried a few times first."""
        with _bound_to(one.envelope, self.group):
            attempt = 0
            while True:
                attempt += 1
                started = time.perf_counter()
                try:
                    fresh = await self._apply_together([one])
                except _REFUSALS as exc:
                    await self._dead_letter(one.record, _reason(exc), exc)
                    return Outcome.DEAD_LETTERED
                except TRANSIENT_ERRORS as exc:
                    delay = self._backoff(attempt)
                    log.warning("event_retry", attempt=attempt, error=repr(exc), retry_in_s=delay)
                    await self._wait_out_failure(delay)
                    continue
                except Exception as exc:
                    if attempt >= self._max_attempts:
                        await self._dead_letter(one.record, f"gave up: {exc!r}", exc)
                        return Outcome.DEAD_LETTERED
                    delay = min(self._base_delay * 2**attempt, self._max_delay)
                    log.warning(
                        "event_retry", attempt=attempt, error=bounded(repr(exc)), retry_in_s=delay
                    )
                    await self._pause(delay)
                    continue
                self.retrying_since = None
                outcome = Outcome.HANDLED if fresh else Outcome.DUPLICATE
                self._consumed(one, outcome, round((time.perf_counter() - started) * 1000, 2))
                return outcome

    def _consumed(self, one: _Parsed, outcome: Outcome, duration_ms: float, **extra: int) -> None:
        if outcome is Outcome.HANDLED:
            self.records_handled += 1
        else:
            self.records_duplicate += 1
        EVENTS_CONSUMED.labels(self.group, self._type_label(one.envelope.type), outcome.value).inc()
        # The ids as arguments rather than bound context: the same line, at a fraction of the
        # cost of setting and resetting five context variables per record.
        log.info(
            "event_consumed",
            **_ids_of(one.envelope, self.group),
            outcome=outcome.value,
            duration_ms=duration_ms,
            **extra,
        )

    def _type_label(self, event_type: str) -> str:
        # Anyone who can write to the topic picks the types; each new label is a new series.
        if event_type in self._type_labels or len(self._type_labels) < _MAX_TYPE_LABELS:
            self._type_labels.add(event_type)
            return event_type
        return "other"

    async def _dead_letter(self, record: Record, reason: str, exc: BaseException) -> None:
        error_type = type(exc).__name__
        attempt = 0
        while True:
            attempt += 1
            try:
                topic = await self._dead_letters.publish(
                    record, group=self.group, reason=reason, error_type=error_type
                )
            except Exception as publish_exc:
                # Until the dead letter is safely written, the offset must not move past it.
                delay = self._backoff(attempt)
                error = bounded(repr(publish_exc))
                log.warning(
                    "dead_letter_retry",
                    consumer=self.group,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    attempt=attempt,
                    error=error,
                    retry_in_s=delay,
                )
                if self.dead_letters_failing is None:
                    self.dead_letters_failing = _Failing(utc_now(), error)
                await self._wait_out_failure(delay)
                continue
            break
        self.dead_letters_failing = None
        self.records_dead_lettered += 1
        _report_dead_letter(
            record, group=self.group, topic=topic, reason=reason, error_type=error_type
        )

    def assignment(self) -> set[TopicPartition]:
        """The partitions this member reads now (empty until the group has assigned any)."""
        return set(self._consumer.assignment())

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        # aiokafka refuses a whole commit that names a partition a rebalance took away; the
        # partitions still ours are worth committing, so they are not read twice.
        assigned = self._consumer.assignment()
        still_ours = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not still_ours:
            return
        try:
            await self._consumer.commit(still_ours)
        except KafkaError as exc:
            # A rebalance took the partitions away; whoever gets them next re-reads these
            # records and the inbox drops them, so carrying on loses nothing.
            self.commit_failures += 1
            with structlog.contextvars.bound_contextvars(consumer=self.group):
                log.warning("offset_commit_failed", error=repr(exc))

    def _backoff(self, attempt: int) -> float:
        return float(min(self._base_delay * 2 ** min(attempt, 6), self._max_delay))

    async def _wait_out_failure(self, delay: float) -> None:
        self.transient_failures += 1
        if self.retrying_since is None:
            self.retrying_since = utc_now()
        await self._pause(delay)

    async def _pause(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)
        if self._stopping.is_set():
            raise _StopRequestedError


@asynccontextmanager
async def consuming(
    bootstrap_servers: str,
    topic: str,
    *,
    pool: asyncpg.Pool,
    group: str,
    handler: Handler,
    max_records: int = 100,
    max_wait_ms: int = 50,
    stall_after_s: float = DEFAULT_STALL_AFTER_S,
) -> AsyncIterator[BatchConsumer]:
    """Feed `topic` to `handler` through the inbox, each record in its own transaction."""
    async with _running(
        bootstrap_servers,
        topic,
        pool=pool,
        group=group,
        handler=EachOnItsOwn(handler),
        one_at_a_time=True,
        max_records=max_records,
        max_wait_ms=max_wait_ms,
        stall_after_s=stall_after_s,
    ) as consumer:
        yield consumer


@asynccontextmanager
async def consuming_batches(
    bootstrap_servers: str,
    topic: str,
    *,
    pool: asyncpg.Pool,
    group: str,
    handler: BatchHandler[Any],
    max_records: int = 500,
    max_wait_ms: int = 50,
    stall_after_s: float = DEFAULT_STALL_AFTER_S,
) -> AsyncIterator[BatchConsumer]:
    """Feed `topic` to `handler` a poll at a time through the inbox, for the block."""
    async with _running(
        bootstrap_servers,
        topic,
        pool=pool,
        group=group,
        handler=handler,
        one_at_a_time=False,
        max_records=max_records,
        max_wait_ms=max_wait_ms,
        stall_after_s=stall_after_s,
    ) as consumer:
        yield consumer


@asynccontextmanager
async def _running(
    bootstrap_servers: str,
    topic: str,
    *,
    pool: asyncpg.Pool,
    group: str,
    handler: BatchHandler[Any],
    one_at_a_time: bool,
    max_records: int,
    max_wait_ms: int,
    stall_after_s: float,
) -> AsyncIterator[BatchConsumer]:
    dead_letters = DeadLetters(bootstrap_servers)
    kafka = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await dead_letters.make_room(topic, group)
    await dead_letters.start()
    try:
        await kafka.start()
        try:
            consumer = BatchConsumer(
                kafka,
                pool=pool,
                group=group,
                handler=handler,
                dead_letters=dead_letters,
                one_at_a_time=one_at_a_time,
                max_records=max_records,
                max_wait_ms=max_wait_ms,
                stall_after_s=stall_after_s,
            )
            consumer.start()
            try:
                yield consumer
            finally:
                await consumer.stop()
        finally:
            await kafka.stop()
    finally:
        await dead_letters.stop()
