"""`tw dlq`: list, show and replay dead letters.

A dead letter is the original record, byte for byte, on `<topic>.<group>.dlt`, with why it
failed in dlt_* headers (tenderwire_shared.dead_letters.DeadLetters). Replaying puts it back on its
original topic. That is safe to repeat: a dead-lettered event never reached the consumer's
inbox, and the inbox drops a second replay by its envelope id.

A ref, `<dlt topic>:<partition>:<offset>`, names one dead letter; Kafka topic names cannot
contain a colon, so the ref splits unambiguously.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import re
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from pydantic import BaseModel

from tenderwire_console.read_models.kafka_io import (
    admin_client,
    existing_partitions,
    groupless_consumer,
    record_time,
    text,
    topic_names,
)
from tenderwire_shared.topics import dead_letter_topic

DLT_SUFFIX = ".dlt"
DLT_HEADER_PREFIX = "dlt_"
REPLAYED_FROM = "dlt_replayed_from"
# Bounds a read when the broker stops answering; reading a few hundred records takes far less.
READ_TIMEOUT_S = 30.0

_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_NUMBER = re.compile(r"[0-9]{1,19}")


class DeadLetterNotFoundError(LookupError):
    """The ref is well formed, but no dead letter is there (or its original topic is gone)."""


class DeadLetter(BaseModel):
    ref: str
    topic: str
    partition: int
    offset: int
    timestamp: datetime
    original_topic: str
    original_partition: int | None
    original_offset: int | None
    consumer_group: str
    reason: str
    error_type: str
    event_id: str | None
    event_type: str | None
    key: str | None
    value: str
    headers: dict[str, str]


class Replayed(BaseModel):
    ref: str
    to_topic: str
    partition: int
    offset: int


def parse_ref(ref: str) -> tuple[str, int, int]:
    """(topic, partition, offset), or ValueError naming what is wrong with the ref."""
    parts = ref.rsplit(":", 2)
    if len(parts) != 3:
        raise ValueError(f"bad ref {ref!r}: expected <dlt topic>:<partition>:<offset>")
    topic, partition, offset = parts
    if not _TOPIC_NAME.fullmatch(topic):
        raise ValueError(f"bad ref {ref!r}: {topic!r} is not a Kafka topic name")
    if not topic.endswith(DLT_SUFFIX):
        raise ValueError(f"bad ref {ref!r}: {topic!r} is not a dead-letter topic (*{DLT_SUFFIX})")
    if not (_NUMBER.fullmatch(partition) and int(partition) < 2**31):
        raise ValueError(f"bad ref {ref!r}: partition {partition!r} is not a partition number")
    if not (_NUMBER.fullmatch(offset) and int(offset) < 2**63):
        raise ValueError(f"bad ref {ref!r}: offset {offset!r} is not an offset")
    return topic, int(partition), int(offset)


def _number(value: str | None) -> int | None:
    return int(value) if value is not None and _NUMBER.fullmatch(value) else None


def _envelope_ids(value: bytes | None) -> tuple[str | None, str | None]:
    """(id, type) from the record itself, for records published without our headers."""
    try:
        parsed = json.loads(value or b"")
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested absurdly deep
        return None, None
    if not isinstance(parsed, dict):
        return None, None
    event_id, event_type = parsed.get("id"), parsed.get("type")
    return (
        event_id if isinstance(event_id, str) else None,
        event_type if isinstance(event_type, str) else None,
    )


def to_dead_letter(record: Any) -> DeadLetter:
    headers = {str(k): text(v) or "" for k, v in record.headers}
    parsed_id, parsed_type = _envelope_ids(record.value)
    return DeadLetter(
        ref=f"{record.topic}:{record.partition}:{record.offset}",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record_time(record.timestamp),
        original_topic=headers.get("dlt_original_topic", ""),
        original_partition=_number(headers.get("dlt_original_partition")),
        original_offset=_number(headers.get("dlt_original_offset")),
        consumer_group=headers.get("dlt_consumer_group", ""),
        reason=headers.get("dlt_reason", ""),
        error_type=headers.get("dlt_error_type", ""),
        # ce_id and ce_type: the names records carried before structured CloudEvents.
        event_id=headers.get("event_id") or headers.get("ce_id") or parsed_id,
        event_type=headers.get("event_type") or headers.get("ce_type") or parsed_type,
        key=text(record.key),
        value=text(record.value) or "",
        headers=headers,
    )


def _newest(records: list[Any], limit: int) -> list[Any]:
    return heapq.nlargest(limit, records, key=lambda r: (r.timestamp, r.topic, r.partition))


async def _read_tails(consumer: Any, partitions: list[TopicPartition], count: int) -> list[Any]:
    """The last `count` records of each partition: the newest `count` overall are among them."""
    beginnings = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    pending = {tp: ends[tp] for tp in partitions if ends[tp] > beginnings[tp]}
    if not pending:
        return []
    consumer.assign(list(pending))
    for tp, end in pending.items():
        consumer.seek(tp, max(beginnings[tp], end - count))
    records: list[Any] = []
    async with asyncio.timeout(READ_TIMEOUT_S):
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, got in batch.items():
                records.extend(r for r in got if r.offset < pending.get(tp, -1))
            for tp in list(pending):
                if await consumer.position(tp) >= pending[tp]:
                    consumer.pause(tp)
                    del pending[tp]
            if len(records) > 2 * count:
                records = _newest(records, count)
    return records


async def list_dead_letters(
    bootstrap: str, *, topic_prefix: str = "", limit: int = 100
) -> list[DeadLetter]:
    """The newest `limit` dead letters across every dead-letter topic under the prefix."""
    if limit <= 0:
        return []
    async with admin_client(bootstrap) as admin, groupless_consumer(bootstrap) as consumer:
        dead_letter_topics = [
            t
            for t in await topic_names(admin)
            if t.startswith(topic_prefix) and t.endswith(DLT_SUFFIX)
        ]
        partitions = await existing_partitions(admin, dead_letter_topics)
        if not partitions:
            return []
        records = await _read_tails(consumer, partitions, limit)
    return [to_dead_letter(r) for r in _newest(records, limit)]


async def _record_at(bootstrap: str, ref: str) -> Any | None:
    topic, partition, offset = parse_ref(ref)
    tp = TopicPartition(topic, partition)
    async with admin_client(bootstrap) as admin, groupless_consumer(bootstrap) as consumer:
        if tp not in await existing_partitions(admin, [topic]):
            return None
        beginning = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        if not beginning <= offset < end:
            return None
        consumer.assign([tp])
        consumer.seek(tp, offset)
        async with asyncio.timeout(READ_TIMEOUT_S):
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=500, max_records=1)
                for record in batch.get(tp, []):
                    # Past the offset asked for: compaction or a transaction marker left a gap.
                    return record if record.offset == offset else None
    return None


async def get_dead_letter(bootstrap: str, ref: str) -> DeadLetter | None:
    """The dead letter at `ref`, or None; ValueError if `ref` is malformed."""
    record = await _record_at(bootstrap, ref)
    return None if record is None else to_dead_letter(record)


async def replay(bootstrap: str, ref: str) -> Replayed:
    """Republish the dead letter's original key, value and headers to its original topic."""
    record = await _record_at(bootstrap, ref)
    if record is None:
        raise DeadLetterNotFoundError(f"no dead letter at {ref}")
    letter = to_dead_letter(record)
    # A record someone else wrote to the DLT could name any topic; only replay what the
    # topic's own name vouches for.
    if dead_letter_topic(letter.original_topic, letter.consumer_group) != letter.topic:
        raise ValueError(
            f"{letter.ref}: its headers name {letter.original_topic!r} and group"
            f" {letter.consumer_group!r}, which do not match the topic it is on; not replaying"
        )
    async with admin_client(bootstrap) as admin:
        if letter.original_topic not in await topic_names(admin):
            raise DeadLetterNotFoundError(f"topic {letter.original_topic!r} no longer exists")
    headers = [(k, v) for k, v in record.headers if not k.startswith(DLT_HEADER_PREFIX)]
    headers.append((REPLAYED_FROM, letter.ref.encode()))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            letter.original_topic, value=record.value, key=record.key, headers=headers
        )
    finally:
        await producer.stop()
    return Replayed(
        ref=letter.ref, to_topic=letter.original_topic, partition=sent.partition, offset=sent.offset
    )
