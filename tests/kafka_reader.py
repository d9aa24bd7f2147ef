"""Reading a topic from the start, as a test's independent witness of what was published."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer


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
