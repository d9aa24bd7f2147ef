"""Read-only Kafka plumbing the operator tools share.

Every metadata request goes through `existing_partitions`, which lists topics before describing
them: a broker with auto.create.topics.enable creates any topic a metadata request names, and an
operator's typo must not leave a topic behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@asynccontextmanager
async def admin_client(bootstrap: str) -> AsyncIterator[Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@asynccontextmanager
async def groupless_consumer(bootstrap: str) -> AsyncIterator[Any]:
    """A consumer outside any group: it never commits and never joins the services' groups."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        # Only reached when retention deleted the offset we sought to; go on from what is left.
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def topic_names(admin: Any) -> set[str]:
    return {str(name) for name in await admin.list_topics()}


async def existing_partitions(admin: Any, topics: Iterable[str]) -> list[TopicPartition]:
    """Partitions of those of `topics` that exist; the others are left out, never created."""
    wanted = sorted(set(topics) & await topic_names(admin))
    if not wanted:
        return []
    described: list[dict[str, Any]] = await admin.describe_topics(wanted)
    return sorted(
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        if topic["error_code"] == 0
        for partition in topic["partitions"]
    )


def record_time(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def text(raw: bytes | None) -> str | None:
    """Bytes as text for a person to read; bytes that are not UTF-8 become U+FFFD."""
    return None if raw is None else raw.decode("utf-8", errors="replace")
