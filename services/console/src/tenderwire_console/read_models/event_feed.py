"""`tw events tail`: a live, filtered view of every event on Tenderwire's topics.

The tail reads outside any consumer group, so it never commits and never takes partitions from
a service. New topics (a dead-letter topic's first record, a service started after the tail)
are picked up by listing topics every few seconds and assigning their partitions by hand:
aiokafka's pattern subscription without a group rebuilds the whole assignment when a topic
appears, and with it forgets every partition's position.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Any

from aiokafka import TopicPartition
from pydantic import BaseModel, Field, ValidationError

from tenderwire_console.read_models.kafka_io import (
    admin_client,
    existing_partitions,
    groupless_consumer,
    record_time,
    text,
    topic_names,
)
from tenderwire_shared import topics
from tenderwire_shared.envelope import RawEnvelope, supplier_id_of, tender_id_of

NOT_AN_ENVELOPE = "<not an envelope>"
MAIN_TOPICS = (
    topics.TENDERS,
    topics.MATCHES,
    topics.SUPPLIERS,
    topics.NOTIFICATIONS,
    topics.NOTICE_COMMANDS,
)
# How much of a record that is not an envelope the feed shows; enough to recognise it.
EXCERPT_CHARS = 500


def glob_matches(pattern: str, value: str) -> bool:
    """`*` stands for any run of characters; everything else is literal."""
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), value) is not None


class FeedEvent(BaseModel):
    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: str | None
    event_id: str  # "" when the record is not an envelope
    event_type: str
    subject: str
    correlation_id: str | None
    tender_id: str | None
    supplier_id: str | None
    data: dict[str, Any]


class FeedFilter(BaseModel):
    """Every given criterion must hold; within a list, any entry may. Empty means any."""

    topics: list[str] = Field(
        default_factory=list, description="Names without the prefix; `*` wildcards allowed"
    )
    types: list[str] = Field(default_factory=list, description="Envelope types, e.g. tender.*")
    tender_id: str | None = None
    supplier_id: str | None = None

    def wants_topic(self, name: str) -> bool:
        """Whether to read the topic `name` (without the prefix)."""
        if not self.topics:
            return name in MAIN_TOPICS
        return not name.startswith("__") and any(glob_matches(p, name) for p in self.topics)

    def matches(self, event: FeedEvent, topic_prefix: str = "") -> bool:
        if self.topics and not (
            event.topic.startswith(topic_prefix)
            and self.wants_topic(event.topic.removeprefix(topic_prefix))
        ):
            return False
        if self.types and not any(glob_matches(p, event.event_type) for p in self.types):
            return False
        if self.tender_id is not None and event.tender_id != self.tender_id:
            return False
        return self.supplier_id is None or event.supplier_id == self.supplier_id


def _why_not(exc: ValidationError) -> str:
    errors = exc.errors()
    where = ".".join(str(p) for p in errors[0]["loc"]) or "<root>"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {errors[0]['msg']}{more}"


def feed_event(record: Any) -> FeedEvent:
    try:
        envelope = RawEnvelope.model_validate_json(record.value or b"")
    except ValidationError as exc:  # also what bytes that are not UTF-8 or JSON raise
        return FeedEvent(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp=record_time(record.timestamp),
            key=text(record.key),
            event_id="",
            event_type=NOT_AN_ENVELOPE,
            subject="",
            correlation_id=None,
            tender_id=None,
            supplier_id=None,
            data={
                "value": (text(record.value) or "")[:EXCERPT_CHARS],
                "error": _why_not(exc),
            },
        )
    return FeedEvent(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=record_time(record.timestamp),
        key=text(record.key),
        event_id=envelope.id,
        event_type=envelope.type,
        subject=envelope.subject,
        correlation_id=envelope.correlationid,
        tender_id=tender_id_of(envelope.data),
        supplier_id=supplier_id_of(envelope.data),
        data=envelope.data,
    )


class _Assignment:
    """The tail's partitions, grown by hand so no partition's position is ever lost."""

    def __init__(self, admin: Any, consumer: Any, topic_prefix: str, wanted: FeedFilter) -> None:
        self._admin = admin
        self._consumer = consumer
        self._prefix = topic_prefix
        self._wanted = wanted
        self.partitions: list[TopicPartition] = []

    async def _available(self) -> list[TopicPartition]:
        names = [
            name
            for name in await topic_names(self._admin)
            if name.startswith(self._prefix) and self._wanted.wants_topic(name[len(self._prefix) :])
        ]
        return await existing_partitions(self._admin, names)

    async def start(self, *, from_beginning: bool, last: int) -> None:
        self.partitions = await self._available()
        if not self.partitions:
            return
        self._consumer.assign(self.partitions)
        beginnings = await self._consumer.beginning_offsets(self.partitions)
        # Positions are fixed now, not at the first fetch, so "from the end" means from the
        # moment the tail started.
        ends = await self._consumer.end_offsets(self.partitions)
        for tp in self.partitions:
            start = beginnings[tp] if from_beginning else max(beginnings[tp], ends[tp] - last)
            self._consumer.seek(tp, start)

    async def grow(self) -> None:
        """Add partitions that appeared since; everything on them is newer than the tail."""
        available = await self._available()
        new = [tp for tp in available if tp not in self.partitions]
        if not new:
            return
        # assign() replaces the assignment and forgets positions, so carry them over.
        positions = {tp: await self._consumer.position(tp) for tp in self.partitions}
        self.partitions = sorted({*self.partitions, *new})
        self._consumer.assign(self.partitions)
        for tp, position in positions.items():
            self._consumer.seek(tp, position)
        beginnings = await self._consumer.beginning_offsets(new)
        for tp in new:
            self._consumer.seek(tp, beginnings[tp])


async def follow(
    bootstrap: str,
    *,
    topic_prefix: str = "",
    feed_filter: FeedFilter | None = None,
    from_beginning: bool = False,
    last: int = 0,
    on_ready: Callable[[list[str]], None] | None = None,
    rediscover_every_s: float = 5.0,
) -> AsyncGenerator[FeedEvent, None]:
    """Events matching the filter as they arrive, until the caller stops iterating.

    Starts at the end of each partition, `last` records before it, or at the beginning.
    `on_ready` gets the topics being read once the starting positions are fixed: an event
    published after that is seen.
    """
    wanted = feed_filter or FeedFilter()
    async with admin_client(bootstrap) as admin, groupless_consumer(bootstrap) as consumer:
        assignment = _Assignment(admin, consumer, topic_prefix, wanted)
        await assignment.start(from_beginning=from_beginning, last=max(last, 0))
        if on_ready is not None:
            on_ready(sorted({tp.topic for tp in assignment.partitions}))
        next_look = time.monotonic() + rediscover_every_s
        while True:
            if assignment.partitions:
                batch = await consumer.getmany(timeout_ms=500)
            else:
                batch = {}
                await asyncio.sleep(0.5)
            for tp in sorted(batch):
                for record in batch[tp]:
                    event = feed_event(record)
                    if wanted.matches(event, topic_prefix):
                        yield event
            if time.monotonic() >= next_look:
                await assignment.grow()
                next_look = time.monotonic() + rediscover_every_s
