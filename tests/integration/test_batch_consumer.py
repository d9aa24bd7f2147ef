"""consuming_batches over real Kafka and PostgreSQL: each poll is one transaction and one offset
commit, poison goes to the DLT alone, duplicates are applied once, outages lose nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from tenderwire_shared.consumer import BatchConsumer, PoisonMessageError, consuming_batches
from tenderwire_shared.db import Connection, create_pool, migrate
from tenderwire_shared.envelope import Envelope, RawEnvelope, new_event_id
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.topics import dead_letter_topic
from tests.support.eventually import eventually
from tests.support.kafka_reader import Seen, group_lag, read_until, reset_group_to_earliest
from tests.support.platform import create_database

pytestmark = pytest.mark.integration


class Amount(BaseModel):
    amount: int
    poison: bool = False


@dataclass
class Ledger:
    """Records each applied event in `applied`, which has no unique key: a second
    application of one event shows up as a second row."""

    poison_in_apply: set[str] = field(default_factory=set)
    gate: asyncio.Event | None = None
    entered: asyncio.Event = field(default_factory=asyncio.Event)

    def parse(self, envelope: RawEnvelope) -> Amount:
        if "bug" in envelope.data:
            raise KeyError("a parse bug that only this record reaches")
        parsed = Amount.model_validate(envelope.data)
        if parsed.poison:
            raise PoisonMessageError("data.poison: this event can never be counted")
        return parsed

    async def apply(self, conn: Connection, items: Sequence[tuple[RawEnvelope, Amount]]) -> None:
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if culprits := self.poison_in_apply & {envelope.id for envelope, _ in items}:
            raise PoisonMessageError(f"refused in apply: {sorted(culprits)}")
        await conn.execute(
            "INSERT INTO applied (event_id, amount) SELECT * FROM unnest($1::text[], $2::int[])",
            [envelope.id for envelope, _ in items],
            [item.amount for _, item in items],
        )


@dataclass
class Scene:
    kafka: str
    dsn: str
    pool: asyncpg.Pool
    topic: str
    group: str

    async def publish(self, *values: bytes, key: bytes | None = None) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka)
        await producer.start()
        try:
            for n, value in enumerate(values):
                await producer.send_and_wait(self.topic, value, key=key or f"k{n}".encode())
        finally:
            await producer.stop()

    async def applied(self) -> dict[str, int]:
        rows = await self.pool.fetch("SELECT event_id, count(*) AS n FROM applied GROUP BY 1")
        return {row["event_id"]: row["n"] for row in rows}

    async def lag(self) -> tuple[int, int]:
        return await group_lag(self.kafka, self.group, self.topic)

    async def caught_up(self, total: int) -> None:
        await eventually(self.lag, until=lambda lag: lag == (0, total))

    def consuming(
        self, handler: Ledger, pool: asyncpg.Pool | None = None, *, stall_after_s: float = 120.0
    ) -> contextlib.AbstractAsyncContextManager[BatchConsumer]:
        return consuming_batches(
            self.kafka,
            self.topic,
            pool=pool or self.pool,
            group=self.group,
            handler=handler,
            stall_after_s=stall_after_s,
        )

    async def dead_letters(self, count: int) -> list[Seen]:
        return await read_until(
            self.kafka, dead_letter_topic(self.topic, self.group), lambda s: len(s) >= count
        )


def event(amount: object = 1, *, event_id: str | None = None, **data: object) -> bytes:
    envelope = RawEnvelope(
        id=event_id or new_event_id(),
        type="test.counted",
        source="tests/batch",
        subject="counter",
        data={"amount": amount, **data},
    )
    return envelope.model_dump_json().encode()


def id_of(value: bytes) -> str:
    return Envelope[dict[str, object]].model_validate_json(value).id


@pytest_asyncio.fixture
async def scene(kafka_bootstrap: str, postgres_dsn: str) -> AsyncIterator[Scene]:
    dsn = await create_database(postgres_dsn, "batch")
    pool = await create_pool(dsn)
    await migrate(pool)
    await pool.execute(
        "CREATE TABLE applied (event_id text NOT NULL, amount integer NOT NULL CHECK (amount >= 0))"
    )
    suffix = new_event_id()[-8:]
    topic = f"batch{suffix}.counted.v1"
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    try:
        yield Scene(kafka_bootstrap, dsn, pool, topic, f"counter-{suffix}")
    finally:
        await pool.close()


async def test_a_poison_record_goes_to_the_dlt_alone_and_its_neighbours_are_applied_once(
    scene: Scene,
) -> None:
    good = [event(n) for n in range(6)]
    wrong_type = event("many")
    refused, buggy = event(poison=True), event(bug=True)
    records = [good[0], b"\xff not json", good[1], wrong_type, good[2], refused, good[3], buggy]
    records += good[4:]
    # One key, so all land on one partition, in this order, and most likely in one poll.
    await scene.publish(*records, key=b"same")

    async with scene.consuming(Ledger()) as consumer:
        await scene.caught_up(len(records))
        letters = await scene.dead_letters(4)

    assert await scene.applied() == {id_of(v): 1 for v in good}
    by_value = {letter.value: letter.headers for letter in letters}
    assert by_value[b"\xff not json"]["dlt_reason"].startswith(b"invalid envelope:")
    assert b"amount" in by_value[wrong_type]["dlt_reason"]
    assert by_value[wrong_type]["dlt_error_type"] == b"ValidationError"
    assert by_value[refused]["dlt_error_type"] == b"PoisonMessageError"
    assert by_value[refused]["dlt_consumer_group"] == scene.group.encode()
    assert by_value[refused]["dlt_original_topic"] == scene.topic.encode()
    assert consumer.records_handled == len(good)
    assert by_value[buggy]["dlt_reason"].startswith(b"parse failed: KeyError")
    assert consumer.records_dead_lettered == 4


async def test_duplicates_in_a_poll_across_polls_and_after_a_replay_are_applied_once(
    scene: Scene,
) -> None:
    first, second = event(1), event(2)
    await scene.publish(first, first, second, key=b"same")
    ledger = Ledger()
    async with scene.consuming(ledger) as consumer:
        await scene.caught_up(3)
        await scene.publish(second, first)
        await scene.caught_up(5)
    assert await scene.applied() == {id_of(first): 1, id_of(second): 1}
    assert consumer.records_handled == 2
    assert consumer.records_duplicate == 3

    await reset_group_to_earliest(scene.kafka, scene.group, scene.topic)
    assert await scene.lag() == (5, 5)
    async with scene.consuming(ledger) as replay:
        await scene.caught_up(5)
    assert await scene.applied() == {id_of(first): 1, id_of(second): 1}
    assert replay.records_duplicate == 5
    assert replay.records_handled == 0


async def test_a_record_apply_refuses_goes_to_the_dlt_and_its_batch_neighbours_are_applied(
    scene: Scene,
) -> None:
    refused, negative = event(7), event(-1)
    good = [event(n) for n in range(8)]
    records = [*good[:3], refused, *good[3:6], negative, *good[6:]]
    await scene.publish(*records, key=b"same")

    ledger = Ledger(poison_in_apply={id_of(refused)})
    async with scene.consuming(ledger):
        await scene.caught_up(len(records))
        letters = await scene.dead_letters(2)

    assert await scene.applied() == {id_of(v): 1 for v in good}
    by_value = {letter.value: letter.headers for letter in letters}
    assert by_value[refused]["dlt_error_type"] == b"PoisonMessageError"
    assert by_value[refused]["dlt_original_offset"] == b"3"
    # A constraint violation is not known to be permanent: retried, then given up on.
    assert by_value[negative]["dlt_error_type"] == b"CheckViolationError"
    assert by_value[negative]["dlt_reason"].startswith(b"gave up:")


class TcpProxy:
    """A loopback TCP relay to PostgreSQL that a test can cut, as a network or server outage."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._links |= {writer, up_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            sink.transport.abort()

        try:
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            self._links -= {writer, up_writer}


async def test_postgresql_out_of_reach_commits_nothing_and_loses_nothing(scene: Scene) -> None:
    direct = urlsplit(scene.dsn)
    assert direct.hostname is not None
    assert direct.port is not None
    proxy = TcpProxy(direct.hostname, direct.port)
    await proxy.up()
    userinfo = direct.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    through_proxy = await create_pool(urlunsplit(direct._replace(netloc=netloc)))
    records = [event(n) for n in range(40)]
    try:
        async with scene.consuming(Ledger(), pool=through_proxy) as consumer:

            async def failures() -> int:
                return consumer.transient_failures

            await proxy.cut()
            await scene.publish(*records)
            await eventually(failures, until=lambda n: n >= 3)
            assert consumer.retrying_since is not None
            assert await scene.lag() == (len(records), len(records))
            assert await scene.applied() == {}

            await proxy.up()
            await scene.caught_up(len(records))
        assert await scene.applied() == {id_of(v): 1 for v in records}
        assert consumer.retrying_since is None
        assert consumer.records_dead_lettered == 0
    finally:
        await through_proxy.close()


async def test_offsets_are_committed_only_after_the_transaction(scene: Scene) -> None:
    records = [event(n) for n in range(12)]
    await scene.publish(*records)
    held = Ledger(gate=asyncio.Event())
    async with scene.consuming(held) as consumer:
        await held.entered.wait()
        # Inside apply, the transaction is open: nothing may be committed yet.
        assert await scene.lag() == (len(records), len(records))
        # Stopping now abandons the batch; its transaction rolls back uncommitted.
        await consumer.stop(grace_s=0.1)
    assert await scene.lag() == (len(records), len(records))
    assert await scene.applied() == {}

    async with scene.consuming(Ledger()):
        await scene.caught_up(len(records))
    assert await scene.applied() == {id_of(v): 1 for v in records}


async def test_a_rebalance_in_the_middle_of_a_batch_loses_nothing_and_applies_nothing_twice(
    scene: Scene,
) -> None:
    records = [event(n) for n in range(30)]
    await scene.publish(*records)
    gate = asyncio.Event()
    held = Ledger(gate=gate)
    async with scene.consuming(held) as first:
        await held.entered.wait()
        async with scene.consuming(Ledger()) as second:

            async def second_reads() -> set[object]:
                return set(second.assignment())

            # The group moved partitions away from `first` while its batch is still open. The
            # two members learn the new assignment one after the other, so wait for both.
            taken = await eventually(second_reads, until=bool)

            async def overlap() -> set[object]:
                return set(second.assignment()) & set(first.assignment())

            await eventually(overlap, until=lambda both: not both)
            assert taken
            gate.set()
            await scene.caught_up(len(records))
    assert await scene.applied() == {id_of(v): 1 for v in records}


async def test_a_consumer_stuck_in_a_batch_with_records_waiting_is_not_ready(scene: Scene) -> None:
    stuck = Ledger(gate=asyncio.Event())
    async with scene.consuming(stuck, stall_after_s=1.0) as consumer:
        await scene.publish(*(event(n) for n in range(6)), key=b"one-partition")
        await asyncio.wait_for(stuck.entered.wait(), timeout=60)
        assert consumer.readiness() is None

        async def readiness() -> str | None:
            return consumer.readiness()

        problem = await eventually(readiness, until=lambda p: p is not None)
        assert problem is not None
        assert f"consumer {scene.group}: " in problem
        assert "no batch finished" in problem

        assert stuck.gate is not None
        stuck.gate.set()
        await scene.caught_up(6)
        assert consumer.readiness() is None
