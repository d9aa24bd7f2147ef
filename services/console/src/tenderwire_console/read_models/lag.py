"""`tw lag`: how far each consumer group is behind, per partition.

Group names are not prefixed (every deployment's matching is "matching"), so a group is scoped
to a deployment by the topics it has committed on: only those under `topic_prefix` count.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from tenderwire_console.read_models.kafka_io import (
    admin_client,
    existing_partitions,
    groupless_consumer,
)


class PartitionLag(BaseModel):
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group has committed nothing on this partition yet
    end: int
    lag: int


async def consumer_lag(
    bootstrap: str, *, topic_prefix: str = "", groups: list[str] | None = None
) -> list[PartitionLag]:
    """Lag of every partition of every topic under the prefix that each group commits on."""
    async with admin_client(bootstrap) as admin, groupless_consumer(bootstrap) as consumer:
        if groups is None:
            groups = [str(listed[0]) for listed in await admin.list_consumer_groups()]
        committed: dict[str, dict[tuple[str, int], int | None]] = {}
        for group in sorted(set(groups)):
            offsets = await admin.list_consumer_group_offsets(group)
            mine = {
                (tp.topic, tp.partition): (meta.offset if meta.offset >= 0 else None)
                for tp, meta in offsets.items()
                if tp.topic.startswith(topic_prefix)
            }
            if mine:
                committed[group] = mine
        topics = {topic for offsets in committed.values() for topic, _ in offsets}
        # Every partition of a topic the group reads, not just those it has committed on:
        # records waiting on a partition nobody has committed on yet are lag too.
        partitions = await existing_partitions(admin, topics)
        if not partitions:
            return []
        ends = await consumer.end_offsets(partitions)
        beginnings = await consumer.beginning_offsets(partitions)
    rows = []
    for group, offsets in committed.items():
        group_topics = {topic for topic, _ in offsets}
        for tp in partitions:
            if tp.topic not in group_topics:
                continue
            position = offsets.get((tp.topic, tp.partition))
            end = int(ends[tp])
            start = position if position is not None else int(beginnings[tp])
            rows.append(
                PartitionLag(
                    group=group,
                    topic=tp.topic,
                    partition=tp.partition,
                    committed=position,
                    end=end,
                    lag=end - start,
                )
            )
    return sorted(rows, key=lambda r: (r.group, r.topic, r.partition))


@dataclass(frozen=True)
class GroupLag:
    group: str
    partitions: int
    lag: int
    behind: int  # partitions with lag


def lag_by_group(rows: list[PartitionLag]) -> list[GroupLag]:
    """The console's summary: one line per group, with how many of its partitions lag."""
    groups: dict[str, list[PartitionLag]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    return [
        GroupLag(group, len(parts), sum(p.lag for p in parts), sum(1 for p in parts if p.lag > 0))
        for group, parts in sorted(groups.items())
    ]
