"""Records/s through `consuming_batches` (set-based apply) vs the per-record `consuming`.

Not a test (no timed assertions anywhere): a measurement for issue 10. It starts its own Kafka
and PostgreSQL like the test session does, fills one topic, then drains it with each consumer
in a fresh group and database, `--rounds` times, and prints the medians.

    PYTHONPATH=. .state/tools/bin/uv run --frozen python shared/tests/measure_batch_consumer.py \\
        --records 20000 2>/dev/null
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from aiokafka import AIOKafkaProducer

from tenderwire_shared.consumer import consuming, consuming_batches
from tenderwire_shared.db import Connection, create_pool, migrate
from tenderwire_shared.envelope import RawEnvelope, new_event_id
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.logging import configure_logging
from tests.support.eventually import eventually
from tests.support.infrastructure import kafka_server, postgres_server
from tests.support.kafka_reader import group_lag
from tests.support.platform import create_database

TOPIC = "measure.counted.v1"


class SetBased:
    def parse(self, envelope: RawEnvelope) -> int:
        return int(envelope.data["amount"])

    async def apply(self, conn: Connection, items: Sequence[tuple[RawEnvelope, int]]) -> None:
        await conn.execute(
            "INSERT INTO applied (event_id, amount) SELECT * FROM unnest($1::text[], $2::int[])",
            [envelope.id for envelope, _ in items],
            [amount for _, amount in items],
        )


async def one_at_a_time(conn: Connection, envelope: RawEnvelope) -> None:
    await conn.execute(
        "INSERT INTO applied (event_id, amount) VALUES ($1, $2)",
        envelope.id,
        int(envelope.data["amount"]),
    )


async def fill(kafka: str, records: int) -> None:
    await ensure_topics(kafka, [TOPIC], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for n in range(records):
            value = RawEnvelope(
                id=new_event_id(),
                type="test.counted",
                source="measure",
                subject=f"s{n % 97}",
                data={"amount": n},
            ).model_dump_json()
            futures.append(await producer.send(TOPIC, value.encode(), key=f"s{n % 97}".encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def drain(kafka: str, admin_dsn: str, kind: str, records: int, round_no: int) -> float:
    pool = await create_pool(await create_database(admin_dsn, f"measure_{kind}"))
    await migrate(pool)
    await pool.execute("CREATE TABLE applied (event_id text NOT NULL, amount integer NOT NULL)")
    group = f"measure-{kind}-{round_no}"
    block: contextlib.AbstractAsyncContextManager[object] = (
        consuming_batches(kafka, TOPIC, pool=pool, group=group, handler=SetBased())
        if kind == "batch"
        else consuming(kafka, TOPIC, pool=pool, group=group, handler=one_at_a_time)
    )

    async def handled() -> int:
        done: int = await pool.fetchval("SELECT count(*) FROM inbox")
        return done

    try:
        async with block:
            # Counting rows is cheaper than asking Kafka for the group's lag every poll. The
            # clock starts at the first row, so joining the group is not counted.
            first = await eventually(handled, until=lambda done: done > 0, within=120)
            started = time.perf_counter()
            await eventually(handled, until=lambda done: done >= records, within=1800)
            elapsed = time.perf_counter() - started
            await eventually(
                lambda: group_lag(kafka, group, TOPIC), until=lambda lag: lag[0] == 0, within=600
            )
    finally:
        await pool.close()
    return (records - first) / elapsed


async def main(records: int, rounds: int, log_level: str) -> None:
    configure_logging("measure", level=log_level)
    # SIGTERM ends the run through the context managers, so its Kafka and PostgreSQL stop too.
    signal.signal(signal.SIGTERM, _interrupt)
    with (
        tempfile.TemporaryDirectory() as scratch,
        kafka_server(Path(scratch) / "k") as kafka,
        postgres_server(Path(scratch) / "p") as admin_dsn,
    ):
        await fill(kafka, records)
        rates: dict[str, list[float]] = {"batch": [], "per-record": []}
        for round_no in range(rounds):
            for kind, found in rates.items():
                found.append(await drain(kafka, admin_dsn, kind, records, round_no))
                print(f"round {round_no + 1} {kind}: {found[-1]:.0f} records/s", flush=True)
        for kind, found in rates.items():
            print(f"median {kind}: {statistics.median(found):.0f} records/s over {rounds}")
        ratio = statistics.median(rates["batch"]) / statistics.median(rates["per-record"])
        print(f"batch / per-record: {ratio:.1f}x")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--log-level", default="INFO", help="INFO, as the services run")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.records, arguments.rounds, arguments.log_level))
