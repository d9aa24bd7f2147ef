"""The console's lag summary: one line per group."""

from __future__ import annotations

from tenderwire_console.read_models.lag import GroupLag, PartitionLag, lag_by_group


def row(group: str, partition: int, committed: int | None, end: int) -> PartitionLag:
    lag = end - (committed or 0)
    return PartitionLag(
        group=group, topic="p.tenders", partition=partition, committed=committed, end=end, lag=lag
    )


def test_groups_are_sorted_with_their_total_lag_and_partitions_behind() -> None:
    rows = [row("notify", 0, 5, 5), row("matching", 0, 3, 5), row("matching", 1, None, 4)]
    assert lag_by_group(rows) == [
        GroupLag("matching", partitions=2, lag=6, behind=2),
        GroupLag("notify", partitions=1, lag=0, behind=0),
    ]
    assert lag_by_group([]) == []
