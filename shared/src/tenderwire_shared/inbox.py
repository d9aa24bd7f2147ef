"""Idempotent consumption: effects and inbox row commit together; poison goes to a DLT."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError

from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope, supplier_id_of, tender_id_of
from tenderwire_shared.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_SECONDS
from tenderwire_shared.topics import dead_letter_topic

log = structlog.get_logger()

# Failures of the database or network: the message is fine, so wait and try again rather
# than dead-letter a good event.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)


class PoisonMessageError(Exception):
    """The event can never be handled as it is; it belongs on the dead-letter topic."""


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


Handler = Callable[[Connection, RawEnvelope], Awaitable[None]]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def from_kafka(cls, record: ConsumerRecord[bytes, bytes]) -> Record:
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=tuple(record.headers),
        )


class DeadLetters:
    """Publishes unhandleable records, byte for byte, with the reason in headers."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers, enable_idempotence=True
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, record: Record, *, group: str, reason: str, error_type: str) -> str:
        topic = dead_letter_topic(record.topic, group)
        headers = [
            *record.headers,
            ("dlt_reason", reason.encode()[:4000]),
            ("dlt_error_type", error_type.encode()),
            ("dlt_original_topic", record.topic.encode()),
            ("dlt_original_partition", str(record.partition).encode()),
            ("dlt_original_offset", str(record.offset).encode()),
            ("dlt_consumer_group", group.encode()),
        ]
        await self._producer.send_and_wait(
            topic, value=record.value, key=record.key, headers=headers
        )
        return topic


class IdempotentConsumer:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        group: str,
        handler: Handler,
        dead_letters: DeadLetters,
        max_attempts: int = 5,
        base_delay: float = 0.2,
    ) -> None:
        self._pool = pool
        self.group = group
        self._handler = handler
        self._dead_letters = dead_letters
        self._max_attempts = max_attempts
        self._base_delay = base_delay

    async def handle(self, record: Record) -> Outcome:
        try:
            envelope = RawEnvelope.model_validate_json(record.value or b"")
        except ValidationError as exc:
            return await self._dead_letter(record, f"invalid envelope: {_describe(exc)}", exc)

        # Bound for the handler's whole run, so its own lines carry the same ids as this one's.
        with structlog.contextvars.bound_contextvars(
            event_id=envelope.id,
            event_type=envelope.type,
            correlation_id=envelope.correlationid,
            consumer=self.group,
            **_subjects(envelope.data),
        ):
            return await self._handle_with_retries(record, envelope)

    async def _handle_with_retries(self, record: Record, envelope: RawEnvelope) -> Outcome:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                outcome = await self._apply(record, envelope)
            except (PoisonMessageError, ValidationError) as exc:
                reason = _describe(exc) if isinstance(exc, ValidationError) else str(exc)
                return await self._dead_letter(record, reason, exc)
            except TRANSIENT_ERRORS as exc:
                delay = min(self._base_delay * 2 ** min(attempt, 6), 10.0)
                log.warning("event_retry", attempt=attempt, error=repr(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                continue
            except Exception as exc:
                if attempt >= self._max_attempts:
                    return await self._dead_letter(record, f"gave up: {exc!r}", exc)
                log.warning("event_retry", attempt=attempt, error=repr(exc))
                await asyncio.sleep(self._base_delay * 2**attempt)
                continue
            elapsed = time.perf_counter() - started
            HANDLER_SECONDS.labels(self.group).observe(elapsed)
            EVENTS_CONSUMED.labels(self.group, envelope.type, outcome.value).inc()
            log.info("event_consumed", outcome=outcome.value, duration_ms=round(elapsed * 1000, 2))
            return outcome

    async def _apply(self, record: Record, envelope: RawEnvelope) -> Outcome:
        async with self._pool.acquire() as conn, conn.transaction():
            first_time = await conn.fetchval(
                'INSERT INTO inbox (consumer, event_id, topic, partition, "offset")'
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
                self.group,
                envelope.id,
                record.topic,
                record.partition,
                record.offset,
            )
            if not first_time:
                return Outcome.DUPLICATE
            await self._handler(conn, envelope)
        return Outcome.HANDLED

    async def _dead_letter(self, record: Record, reason: str, exc: BaseException) -> Outcome:
        topic = await self._dead_letters.publish(
            record, group=self.group, reason=reason, error_type=type(exc).__name__
        )
        DEAD_LETTERS.labels(self.group).inc()
        log.warning(
            "event_dead_lettered",
            consumer=self.group,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            dead_letter_topic=topic,
            error=reason,
        )
        return Outcome.DEAD_LETTERED


def _subjects(data: dict[str, Any]) -> dict[str, str]:
    ids = {"tender_id": tender_id_of(data), "supplier_id": supplier_id_of(data)}
    return {key: value for key, value in ids.items() if value is not None}


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
    )


def subscribe(broker: KafkaBroker, topic: str, consumer: IdempotentConsumer) -> None:
    """Feed `topic` to `consumer`, committing each offset only after the consumer returns."""

    @broker.subscriber(
        topic,
        group_id=consumer.group,
        ack_policy=AckPolicy.ACK,
        auto_offset_reset="earliest",
    )
    async def on_record(message: KafkaMessage) -> None:
        raw = message.raw_message
        assert isinstance(raw, ConsumerRecord)
        await consumer.handle(Record.from_kafka(raw))


@asynccontextmanager
async def consuming(
    bootstrap_servers: str, topic: str, *, pool: asyncpg.Pool, group: str, handler: Handler
) -> AsyncIterator[None]:
    """Feed `topic` to `handler` through the inbox, dead-lettering poison, for the block."""
    dead_letters = DeadLetters(bootstrap_servers)
    await dead_letters.start()
    broker = KafkaBroker(bootstrap_servers, logger=None)
    consumer = IdempotentConsumer(
        pool=pool, group=group, handler=handler, dead_letters=dead_letters
    )
    subscribe(broker, topic, consumer)
    try:
        await broker.start()
        yield
    finally:
        await broker.stop()
        await dead_letters.stop()
