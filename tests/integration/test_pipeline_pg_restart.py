"""Notify's PostgreSQL stops while messages are with the SMTP relay and stays down longer than
the stale-sending window, then starts again on the same data. Some messages were accepted
while it was down (their results wait in notify's memory), some are still with the relay when
it returns, some still wait in notify's queue: every message arrives exactly once, and every
row ends 'sent', claimed once, never sent again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tenderwire_shared.envelope import new_event_id
from tenderwire_stack.postgres import PostgresCluster
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port
from tests.support.pipeline_events import new_tender_alert, produce
from tests.support.pipeline_sink import FaultySink
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.integration

ALERTS = 20
LANES = 4
ACCEPTED_WHILE_DOWN = 12
STALE_SENDING_S = 2.0


@pytest.fixture
def notify_postgres(tmp_path: Path) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(tmp_path / "notify-pg", free_port())
    cluster.start()
    cluster.create_databases(("notify",))
    try:
        yield cluster
    finally:
        cluster.stop()
        cluster.destroy()


async def ledger(cluster: PostgresCluster, prefix: str) -> list[Any]:
    conn = await asyncpg.connect(cluster.dsn("notify"))
    try:
        rows: list[Any] = await conn.fetch(
            "SELECT supplier_id, state, attempts, claimed_by, provider_ref FROM deliveries"
            " WHERE supplier_id LIKE $1 || '%'",
            prefix,
        )
    finally:
        await conn.close()
    return rows


async def test_a_postgres_restart_after_the_relay_accepted_sends_no_second_copy(
    kafka_bootstrap: str, notify_postgres: PostgresCluster, tmp_path: Path
) -> None:
    run = new_event_id()[-8:]
    topic_prefix, prefix = f"npgr{run}.", f"pgrestart-{run}-"
    sink = FaultySink(free_port())
    await sink.start()
    service = ServiceProcess(
        "tenderwire_notify.bootstrap:create_app",
        tmp_path / "notify",
        free_port(),
        {
            "TW_NOTIFY_DATABASE_URL": notify_postgres.dsn("notify"),
            "TW_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "TW_TOPIC_PREFIX": topic_prefix,
            "TW_NOTIFY_SMTP_PORT": str(sink.port),
            "TW_NOTIFY_SMTP_POOL_SIZE": str(LANES),
            "TW_NOTIFY_STALE_SENDING_S": str(STALE_SENDING_S),
            # Held messages must not time out at the client: a retry would be a copy we caused.
            "TW_NOTIFY_SMTP_TIMEOUT_S": "120",
            "TW_LOG_LEVEL": "INFO",
        },
    )
    try:
        await service.start()
        sink.hold()
        await produce(
            kafka_bootstrap,
            topic_prefix,
            [
                new_tender_alert(f"{prefix}{n}", f"{prefix}{n}@example.org", f"t-{prefix}{n}")
                for n in range(ALERTS)
            ],
        )

        async def claimed_and_held() -> tuple[int, int]:
            rows = await ledger(notify_postgres, prefix)
            return sum(r["state"] == "sending" for r in rows), sink.held

        # Every row claimed, so the rest of them wait in notify's memory, not in the ledger.
        await eventually(claimed_and_held, until=lambda seen: seen == (ALERTS, LANES))
        await asyncio.to_thread(notify_postgres.stop)
        # Some accepted while the database is down: their results wait in notify's memory.
        # The rest stay with the relay, or queued in notify, across the whole outage.
        await sink.allow(ACCEPTED_WHILE_DOWN)
        await eventually(
            lambda: asyncio.sleep(0, (len(sink.copies(prefix)), sink.held)),
            until=lambda seen: seen == (ACCEPTED_WHILE_DOWN, LANES),
        )
        await asyncio.sleep(STALE_SENDING_S * 2)  # the outage, longer than the stale window
        await asyncio.to_thread(notify_postgres.start)

        # A sentinel claimed after the restart: the worker has then swept for abandoned rows
        # at least once, and written what the relay accepted while the database was down.
        sentinel = f"after-restart-{run}"
        await produce(
            kafka_bootstrap,
            topic_prefix,
            [new_tender_alert(sentinel, f"{sentinel}@example.org", f"t-{sentinel}")],
        )
        await eventually(
            lambda: ledger(notify_postgres, sentinel),
            until=lambda r: len(r) == 1 and r[0]["state"] == "sending",
        )
        after_restart = await eventually(
            lambda: ledger(notify_postgres, prefix),
            until=lambda rows: sum(r["state"] == "sent" for r in rows) >= ACCEPTED_WHILE_DOWN,
        )
        await sink.release()
        await eventually(lambda: asyncio.sleep(0, sink.copies(sentinel)), until=bool)
        await eventually(
            lambda: ledger(notify_postgres, prefix),
            until=lambda rows: all(r["state"] == "sent" for r in rows),
        )
        rows = await ledger(notify_postgres, prefix)
    finally:
        await asyncio.to_thread(service.process.stop)
        await sink.stop()

    log = service.process.log_file.read_text()
    copies = sink.copies(prefix)
    print(
        f"pipeline pg restart: {ALERTS} alerts, {sum(copies.values())} e-mails to"
        f" {len(copies)} recipients, states {sorted({r['state'] for r in rows})},"
        f" attempts after the restart {sorted({r['attempts'] for r in after_restart})},"
        f" {log.count('delivery_results_retry')} result writes retried during the outage"
    )
    assert "delivery_results_retry" in log, "results waited for the database"
    assert copies == {f"{prefix}{n}@example.org": 1 for n in range(ALERTS)}
    assert {r["attempts"] for r in after_restart} == {1}, "nothing was taken from the worker"
    assert [(r["state"], r["attempts"], r["claimed_by"]) for r in rows] == [
        ("sent", 1, None)
    ] * ALERTS
    assert all(r["provider_ref"] for r in rows)
