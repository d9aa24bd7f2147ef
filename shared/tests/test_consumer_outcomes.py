"""How BatchConsumer sorts what a handler does with a record, with fakes for Kafka and
PostgreSQL: a refusal is dead-lettered at once, a transient failure is waited out, anything else
is retried a few times and then given up, and a repeated event id is applied once.

The same promises over real Kafka and PostgreSQL: tests/integration/test_batch_consumer.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import asyncpg
import pytest
from aiokafka.structs import TopicPartition
from pydantic import BaseModel

from tenderwire_shared.consumer import (
    BatchConsumer,
    EachOnItsOwn,
    Outcome,
    PoisonMessageError,
)
from tenderwire_shared.dead_letters import DeadLetters, Record
from tenderwire_shared.envelope import Envelope, RawEnvelope
from tests.support.fake_inbox import FakeInbox
from tests.support.kafka_records import PARTITION
from tests.support.kafka_records import consumer_record as kafka_record

MAX_ATTEMPTS = 3


class FakeDeadLetters:
    def __init__(self) -> None:
        self.reasons: dict[int, str] = {}

    async def publish(self, record: Record, *, group: str, reason: str, error_type: str) -> str:
        self.reasons[record.offset] = reason
        return f"{record.topic}.{group}.dlt"


class Scripted:
    """A per-record handler that fails as the event's type says, then records its effect."""

    def __init__(self, failures: dict[str, list[BaseException]]) -> None:
        self._failures = failures
        self.calls: dict[str, int] = {}

    async def __call__(self, conn: Any, envelope: RawEnvelope) -> None:
        self.calls[envelope.id] = self.calls.get(envelope.id, 0) + 1
        planned = self._failures.get(envelope.type, [])
        attempt = self.calls[envelope.id]
        if attempt <= len(planned):
            raise planned[attempt - 1]
        conn.effects.append(envelope.id)


class Positive(BaseModel):
    amount: int


def event(event_type: str, event_id: str, **data: Any) -> bytes:
    envelope = Envelope[dict[str, Any]](
        id=event_id, type=event_type, source="tests", subject="s", data=data
    )
    return envelope.model_dump_json().encode()


def consumer(
    handler: Callable[[Any, RawEnvelope], Any], inbox: FakeInbox, dead: FakeDeadLetters
) -> BatchConsumer:
    return BatchConsumer(
        cast(Any, None),
        pool=cast(asyncpg.Pool, inbox),
        group="g",
        handler=EachOnItsOwn(handler),
        dead_letters=cast(DeadLetters, dead),
        one_at_a_time=True,
        max_attempts=MAX_ATTEMPTS,
        base_delay=0.0001,
        max_delay=0.0001,
    )


def refusal_by_validation() -> BaseException:
    try:
        Positive.model_validate({"amount": "many"})
    except Exception as exc:
        return exc
    raise AssertionError("unreachable")


REFUSALS = {
    "poison": PoisonMessageError("notice.award for an unknown agency"),
    "invalid": refusal_by_validation(),
    "refused_by_database": asyncpg.DataError("invalid byte sequence for encoding UTF8: 0x00"),
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
async def test_a_refusal_is_dead_lettered_at_once_and_leaves_no_inbox_row(kind: str) -> None:
    inbox, dead = FakeInbox(), FakeDeadLetters()
    handler = Scripted({kind: [REFUSALS[kind]] * 10})
    outcome = await consumer(handler, inbox, dead).handle_one(
        Record.from_kafka(kafka_record(7, event(kind, "e-1")))
    )
    assert outcome is Outcome.DEAD_LETTERED
    assert handler.calls == {"e-1": 1}
    assert set(dead.reasons) == {7}
    assert inbox.committed == set()
    assert inbox.effects == []


async def test_a_validation_refusal_names_the_field_in_the_dead_letters_reason() -> None:
    inbox, dead = FakeInbox(), FakeDeadLetters()
    handler = Scripted({"invalid": [REFUSALS["invalid"]]})
    await consumer(handler, inbox, dead).handle_one(
        Record.from_kafka(kafka_record(3, event("invalid", "e-1")))
    )
    assert dead.reasons[3].startswith("amount:")


async def test_a_transient_failure_is_waited_out_however_often_and_applied_once() -> None:
    inbox, dead = FakeInbox(), FakeDeadLetters()
    outages: list[BaseException] = [ConnectionRefusedError(111, "refused")] * (MAX_ATTEMPTS + 4)
    handler = Scripted({"tender.published": [*outages, TimeoutError()]})
    running = consumer(handler, inbox, dead)
    outcome = await running.handle_one(
        Record.from_kafka(kafka_record(1, event("tender.published", "e-1")))
    )
    assert outcome is Outcome.HANDLED
    assert handler.calls == {"e-1": MAX_ATTEMPTS + 6}
    assert running.transient_failures == MAX_ATTEMPTS + 5
    assert dead.reasons == {}
    assert inbox.effects == ["e-1"]
    assert inbox.committed == {"e-1"}
    assert running.retrying_since is None


async def test_an_unexpected_error_is_retried_then_given_up_to_the_dead_letters() -> None:
    inbox, dead = FakeInbox(), FakeDeadLetters()
    handler = Scripted({"tender.amended": [RuntimeError("a bug")] * 10})
    outcome = await consumer(handler, inbox, dead).handle_one(
        Record.from_kafka(kafka_record(4, event("tender.amended", "e-1")))
    )
    assert outcome is Outcome.DEAD_LETTERED
    assert handler.calls == {"e-1": MAX_ATTEMPTS}
    assert dead.reasons[4].startswith("gave up: RuntimeError('a bug')")
    assert inbox.committed == set()


async def test_an_unexpected_error_that_clears_before_the_last_attempt_is_applied() -> None:
    inbox, dead = FakeInbox(), FakeDeadLetters()
    handler = Scripted({"tender.amended": [RuntimeError("a bug")] * (MAX_ATTEMPTS - 1)})
    outcome = await consumer(handler, inbox, dead).handle_one(
        Record.from_kafka(kafka_record(4, event("tender.amended", "e-1")))
    )
    assert outcome is Outcome.HANDLED
    assert dead.reasons == {}
    assert inbox.effects == ["e-1"]


async def test_the_same_event_id_again_is_a_duplicate_and_has_no_second_effect() -> None:
    inbox, dead = FakeInbox(), FakeDeadLetters()
    handler = Scripted({})
    running = consumer(handler, inbox, dead)
    first = await running.handle_one(Record.from_kafka(kafka_record(1, event("t", "e-1"))))
    again = await running.handle_one(Record.from_kafka(kafka_record(2, event("t", "e-1"))))
    assert (first, again) == (Outcome.HANDLED, Outcome.DUPLICATE)
    assert inbox.effects == ["e-1"]
    assert (running.records_handled, running.records_duplicate) == (1, 1)


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"not json",
        b"[]",
        b'{"type": "t"}',
        b"\xff\xfe",
        event("t", "e-1").replace(b'"e-1"', b'"bad\\u0000id"'),
    ],
    ids=["empty", "not-json", "array", "no-id", "not-utf8", "nul-in-id"],
)
async def test_a_record_that_is_no_envelope_never_reaches_the_handler(value: bytes) -> None:
    inbox, dead = FakeInbox(), FakeDeadLetters()
    handler = Scripted({})
    outcome = await consumer(handler, inbox, dead).handle_one(
        Record.from_kafka(kafka_record(9, value))
    )
    assert outcome is Outcome.DEAD_LETTERED
    assert handler.calls == {}
    assert dead.reasons[9].startswith("invalid envelope")


class Batched:
    """A BatchHandler whose apply fails for a whole batch holding a 'bad' event."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def parse(self, envelope: RawEnvelope) -> str:
        if envelope.type == "poison":
            raise PoisonMessageError("refused by parse")
        return envelope.id

    async def apply(self, conn: Any, items: Sequence[tuple[RawEnvelope, str]]) -> None:
        ids = [item for _, item in items]
        self.batches.append(ids)
        if any(envelope.type == "bad" for envelope, _ in items):
            raise RuntimeError("one of these is bad")
        conn.effects.extend(ids)


async def test_a_failing_batch_is_split_and_only_the_record_to_blame_is_dead_lettered() -> None:
    inbox, dead = FakeInbox(), FakeDeadLetters()
    handler = Batched()
    committed: list[dict[TopicPartition, int]] = []

    class Kafka:
        def assignment(self) -> set[TopicPartition]:
            return {PARTITION}

        async def commit(self, offsets: dict[TopicPartition, int]) -> None:
            committed.append(offsets)

    running = BatchConsumer(
        cast(Any, Kafka()),
        pool=cast(asyncpg.Pool, inbox),
        group="g",
        handler=handler,
        dead_letters=cast(DeadLetters, dead),
        max_attempts=MAX_ATTEMPTS,
        base_delay=0.0001,
        max_delay=0.0001,
    )
    records = [
        kafka_record(0, event("ok", "e-0")),
        kafka_record(1, event("poison", "e-1")),
        kafka_record(2, event("bad", "e-2")),
        kafka_record(3, event("ok", "e-3")),
        kafka_record(4, event("ok", "e-0")),
    ]
    await running.handle({PARTITION: records})
    assert handler.batches[0] == ["e-0", "e-2", "e-3"]
    assert inbox.effects == ["e-0", "e-3"]
    assert set(dead.reasons) == {1, 2}
    assert dead.reasons[1] == "refused by parse"
    assert dead.reasons[2].startswith("gave up:")
    assert committed == [{PARTITION: 5}]
