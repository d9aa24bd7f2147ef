"""BatchConsumer's promises when Kafka misbehaves, with fakes for Kafka (the integration tests
run it over real Kafka): no offset moves past a record that is neither handled nor on the
dead-letter topic, and readiness says what is failing while it fails."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import asyncpg
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from aiokafka.structs import ConsumerRecord, TopicPartition

from tenderwire_shared.consumer import BatchConsumer, EachOnItsOwn
from tenderwire_shared.dead_letters import DeadLetters, Record
from tenderwire_shared.envelope import Envelope
from tests.support.fake_inbox import FakeInbox
from tests.support.kafka_records import PARTITION
from tests.support.kafka_records import consumer_record as record

JSON = [("content-type", b"application/json")]


class FakeKafka:
    """Polls fail `failures` times, then return nothing; records what readiness said."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.consumer: BatchConsumer | None = None
        self.seen_readiness: list[str | None] = []
        self.recovered = asyncio.Event()
        self.committed: list[dict[TopicPartition, int]] = []

    async def getmany(self, **_: Any) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        assert self.consumer is not None
        self.seen_readiness.append(self.consumer.readiness())
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("broker gone")
        self.recovered.set()
        await asyncio.sleep(0)
        return {}

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        raise AssertionError("nothing was read, so nothing to read again")

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.append(offsets)


class RefusingDeadLetters:
    """Refuses the first `refusals` dead letters, as a broker over its size limit does."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.consumer: BatchConsumer | None = None
        self.seen_readiness: list[str | None] = []
        self.published: list[Record] = []

    async def publish(self, record: Record, *, group: str, reason: str, error_type: str) -> str:
        assert self.consumer is not None
        self.seen_readiness.append(self.consumer.readiness())
        if self.refusals:
            self.refusals -= 1
            raise MessageSizeTooLargeError()
        self.published.append(record)
        return f"{record.topic}.{group}.dlt"


async def never_called(conn: Any, envelope: Any) -> None:
    raise AssertionError("no record here is an envelope")


def consumer_over(kafka: FakeKafka, dead_letters: RefusingDeadLetters) -> BatchConsumer:
    consumer = BatchConsumer(
        cast(Any, kafka),
        pool=cast(asyncpg.Pool, None),
        group="g",
        handler=EachOnItsOwn(never_called),
        dead_letters=cast(DeadLetters, dead_letters),
        one_at_a_time=True,
        base_delay=0.001,
        max_delay=0.001,
    )
    kafka.consumer = dead_letters.consumer = consumer
    return consumer


async def test_a_dead_letter_refused_holds_the_offset_and_readiness_says_so_until_it_lands() -> (
    None
):
    kafka, dead_letters = FakeKafka(), RefusingDeadLetters(refusals=2)
    consumer = consumer_over(kafka, dead_letters)

    await consumer.handle({PARTITION: [record(7, b"\xff not json", headers=JSON)]})

    assert dead_letters.seen_readiness[0] is None
    for said in dead_letters.seen_readiness[1:]:
        assert said is not None
        assert said.startswith("consumer g: dead-letter publishing failing since")
        assert said.endswith("MessageSizeTooLargeError()")
    assert [(r.offset, r.value) for r in dead_letters.published] == [(7, b"\xff not json")]
    # Committed once, after the copy landed: never past a record that is nowhere.
    assert kafka.committed == [{PARTITION: 8}]
    assert consumer.readiness() is None
    assert consumer.records_dead_lettered == 1


async def test_polls_that_keep_failing_show_on_readiness_and_the_consumer_carries_on() -> None:
    kafka, dead_letters = FakeKafka(failures=3), RefusingDeadLetters(refusals=0)
    consumer = consumer_over(kafka, dead_letters)
    consumer.start()
    try:
        await kafka.recovered.wait()
    finally:
        await consumer.stop()

    first, *failing, last = kafka.seen_readiness
    assert first is None
    assert failing
    assert all(s and s.startswith("consumer g: polling failing since") for s in failing)
    assert last is not None  # still failing when the poll that worked began
    assert consumer.readiness() is None


class RedeliveringKafka(FakeKafka):
    """Hands out one record from its fetch position; the first commit fails unexpectedly."""

    def __init__(self) -> None:
        super().__init__()
        self.position = 7
        self.seeks: list[int] = []
        self.commit_failures = 1

    async def getmany(self, **_: Any) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        if self.committed:
            self.recovered.set()
            await asyncio.sleep(0)
            return {}
        offset, self.position = self.position, self.position + 1
        return {PARTITION: [record(offset, b"\xff not json", headers=JSON)]} if offset == 7 else {}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append(offset)
        self.position = offset

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_failures:
            self.commit_failures -= 1
            raise RuntimeError("a bug between handling and committing")
        await super().commit(offsets)


async def test_a_batch_that_fails_after_it_was_read_is_read_again_not_skipped() -> None:
    kafka, dead_letters = RedeliveringKafka(), RefusingDeadLetters(refusals=0)
    consumer = consumer_over(kafka, dead_letters)
    consumer.start()
    try:
        await kafka.recovered.wait()
    finally:
        await consumer.stop()

    assert kafka.seeks == [7]
    # At least once: the copy is written again rather than the record skipped.
    assert [r.offset for r in dead_letters.published] == [7, 7]
    assert kafka.committed == [{PARTITION: 8}]


class OneBatchKafka:
    """Hands out one batch of three records, then nothing; the partition holds five."""

    def __init__(self) -> None:
        self.polls = 0

    async def getmany(self, **_: Any) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        self.polls += 1
        if self.polls == 1:
            return {PARTITION: [record(offset, event_bytes(offset)) for offset in (2, 3, 4)]}
        await asyncio.sleep(0.001)
        return {}

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION}

    def highwater(self, tp: TopicPartition) -> int:
        return 7

    def seek(self, tp: TopicPartition, offset: int) -> None:
        raise AssertionError("nothing fails here")

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        pass


def event_bytes(offset: int) -> bytes:
    envelope = Envelope[dict[str, Any]](
        id=f"e-{offset}", type="t", source="tests", subject="s", data={}
    )
    return envelope.model_dump_json().encode()


async def test_a_consumer_stuck_with_records_waiting_fails_readiness_until_it_moves_again() -> None:
    release = asyncio.Event()

    async def hangs(conn: Any, envelope: Any) -> None:
        await release.wait()

    kafka = OneBatchKafka()
    consumer = BatchConsumer(
        cast(Any, kafka),
        pool=cast(asyncpg.Pool, FakeInbox()),
        group="g",
        handler=EachOnItsOwn(hangs),
        dead_letters=cast(DeadLetters, RefusingDeadLetters(0)),
        one_at_a_time=True,
        stall_after_s=0.05,
    )
    consumer.start()
    try:
        await asyncio.sleep(0.01)
        assert consumer.readiness() is None, "not stuck yet: the batch has only just begun"
        await asyncio.sleep(0.1)
        problem = consumer.readiness()
        assert problem is not None
        assert "5 record(s) waiting on tenders.v1/0" in problem
        assert "no batch finished" in problem

        release.set()
        for _ in range(100):
            if consumer.batches:
                break
            await asyncio.sleep(0.01)
        assert consumer.readiness() is None, "a batch has just finished"
        # Offsets 5 and 6 are on the partition, yet every poll comes back empty: stuck again.
        await asyncio.sleep(0.1)
        problem = consumer.readiness()
        assert problem is not None
        assert "2 record(s) waiting on tenders.v1/0" in problem
    finally:
        await consumer.stop(grace_s=1)


async def test_an_idle_consumer_with_nothing_waiting_stays_ready_however_long() -> None:
    class Idle(OneBatchKafka):
        async def getmany(self, **_: Any) -> dict[TopicPartition, Any]:
            await asyncio.sleep(0.001)
            return {}

    consumer = BatchConsumer(
        cast(Any, Idle()),
        pool=cast(asyncpg.Pool, FakeInbox()),
        group="g",
        handler=EachOnItsOwn(never_called),
        dead_letters=cast(DeadLetters, RefusingDeadLetters(0)),
        stall_after_s=0.01,
    )
    consumer.start()
    try:
        await asyncio.sleep(0.05)
        assert consumer.readiness() is None
    finally:
        await consumer.stop(grace_s=1)
