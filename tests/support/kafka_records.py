"""Kafka records as aiokafka hands them to a consumer, for the consumer's fake-Kafka tests."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord, TopicPartition

PARTITION = TopicPartition("tenders.v1", 0)


def consumer_record(
    offset: int, value: bytes, *, headers: list[tuple[str, bytes]] | None = None
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        PARTITION.topic,
        PARTITION.partition,
        offset,
        0,
        0,
        b"k",
        value,
        None,
        1,
        len(value),
        headers or [],
    )
