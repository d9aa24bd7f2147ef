"""Reading a topic from the start, as a test's independent witness of what was published."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class Seen:
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]
    partition: int
    offset: int

    def json(self) -> Any:
        return json.loads(self.value)


async def read_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[Seen]], bool],
    *,
    keep: Callable[[Seen], bool] = lambda _: True,
    within: float = 60.0,
) -> list[Seen]:
    """Records of `topic` that `keep` accepts, from offset 0, until `done` says enough."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[Seen] = []
    try:
        async with asyncio.timeout(within):
            while not done(found):
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for r in records:
                        seen = Seen(r.key, r.value, dict(r.headers), r.partition, r.offset)
                        if keep(seen):
                            found.append(seen)
    finally:
        await consumer.stop()
    return found


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])


async def reset_group_to_earliest(bootstrap: str, group: str, topic: str) -> None:
    """What `kafka-consumer-groups --reset-offsets --to-earliest` does; the group must be empty."""
    partitions = await _partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        beginning = await consumer.beginning_offsets(partitions)
        await consumer.commit(dict(beginning.items()))
    finally:
        await consumer.stop()


async def group_lag(bootstrap: str, group: str, topic: str) -> tuple[int, int]:
    """(records not yet committed by the group, records in the topic), summed over partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = await _partitions(bootstrap, topic)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
        await admin.close()
    lag = sum(
        end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0)
        for tp, end in ends.items()
    )
    return lag, sum(ends.values())
