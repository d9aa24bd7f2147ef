"""services.send_alerts against real PostgreSQL: a tender's matches and events go in a few set-based
statements, LDC suppliers first in the outbox, and a replay writes nothing twice."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio

from tenderwire_matching import repository, services
from tenderwire_matching.domain.matching import Alert
from tenderwire_matching.match_events import Cause
from tenderwire_matching.schemas import SupplierRegistration
from tenderwire_shared.db import create_pool, migrate
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.matches import MatchCreated, MatchKind
from tenderwire_shared.events.tenders import FieldChange, NoticeType, TenderSnapshot
from tenderwire_shared.outbox import WAKE_CHANNEL, add_many_to_outbox, add_to_outbox
from tests.support.eventually import eventually

pytestmark = pytest.mark.integration

TOPIC = "matches.v1"


@pytest_asyncio.fixture
async def pool(postgres_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    name = f"matching_writes_{new_event_id().replace('-', '')[-12:]}"
    admin = await asyncpg.connect(postgres_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    created = await create_pool(postgres_dsn.rsplit("/", 1)[0] + f"/{name}")
    await migrate(created, "tenderwire_matching.migrations")
    yield created
    await created.close()


async def supplier(pool: asyncpg.Pool, name: str, country: str, *, active: bool = True) -> str:
    supplier_id = new_event_id()
    registration = SupplierRegistration(
        legal_name=name,
        country=country,
        unspsc_codes=["42131606"],
        email=f"{name.lower().replace(' ', '.')}@suppliers.example.org",
    )
    async with pool.acquire() as conn, conn.transaction():
        await repository.insert(conn, supplier_id, registration, "token", verified=True)
        if not active:
            await repository.deactivate(conn, supplier_id)
    return supplier_id


def tender(revision: int = 1) -> TenderSnapshot:
    return TenderSnapshot(
        tender_id="T-1",
        revision=revision,
        agency="UNICEF",
        reference="RFQ-1",
        title="Gowns",
        description="Isolation gowns",
        language="en",
        notice_type=NoticeType.REQUEST_FOR_QUOTATION,
        unspsc_codes=("42131606",),
        beneficiary_countries=("SEN",),
        deadline=datetime.now(UTC) + timedelta(days=30),
        deadline_utc_offset_minutes=0,
        published_at=datetime.now(UTC),
    )


async def send(pool: asyncpg.Pool, found: list[Alert], cause: Cause) -> int:
    async with pool.acquire() as conn, conn.transaction():
        return await services.send_alerts(conn, found, cause, topic=TOPIC, ldc_first=True)


async def outbox(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM outbox WHERE topic = $1 ORDER BY position", TOPIC)


async def test_ldc_suppliers_come_first_in_the_outbox_in_the_order_they_were_found(
    pool: asyncpg.Pool,
) -> None:
    kenya = await supplier(pool, "Nairobi Textiles", "KE")
    senegal = await supplier(pool, "Dakar Medical", "SN")
    peru = await supplier(pool, "Lima Supplies", "PE")
    ethiopia = await supplier(pool, "Addis Trading", "ET")
    gone = await supplier(pool, "Closed Shop", "SN", active=False)
    found = [
        Alert(kenya, MatchKind.NEW, ("42131606",)),
        Alert(senegal, MatchKind.NEW, ("42131606", "42131600")),
        Alert(peru, MatchKind.NEW, ()),
        Alert(ethiopia, MatchKind.NEW, ("42131606",)),
        Alert(gone, MatchKind.NEW, ("42131606",)),
    ]
    cause = Cause(tender(), "corr-1", "cause-1")

    assert await send(pool, found, cause) == 4

    rows = await outbox(pool)
    assert [r["key"] for r in rows] == [senegal, ethiopia, kenya, peru]
    events = [Envelope[MatchCreated].model_validate_json(r["value"]) for r in rows]
    assert [e.subject for e in events] == [r["key"] for r in rows]
    assert [e.id for e in events] == [r["event_id"] for r in rows]
    assert [e.data.matched_codes for e in events] == [
        ("42131606", "42131600"),
        ("42131606",),
        ("42131606",),
        (),
    ]
    assert {e.type for e in events} == {"match.new"} == {r["event_type"] for r in rows}
    assert [e.data.recipient.least_developed for e in events] == [True, True, False, False]
    assert all(e.correlationid == "corr-1" and e.causationid == "cause-1" for e in events)
    assert json.loads(rows[0]["headers"]) == [
        ["content-type", "application/cloudevents+json; charset=utf-8"],
        ["event_id", events[0].id],
        ["event_type", "match.new"],
        ["correlation_id", "corr-1"],
    ]
    matches = await pool.fetch("SELECT id, supplier_id, codes, revision, kind FROM matches")
    by_supplier = {m["supplier_id"]: m for m in matches}
    assert set(by_supplier) == {kenya, senegal, peru, ethiopia}
    assert list(by_supplier[senegal]["codes"]) == ["42131606", "42131600"]
    assert list(by_supplier[peru]["codes"]) == []
    assert {e.data.match_id for e in events} == {m["id"] for m in matches}


async def test_a_replay_alerts_nobody_twice_and_a_later_revision_alerts_again(
    pool: asyncpg.Pool,
) -> None:
    first = await supplier(pool, "Dakar Medical", "SN")
    second = await supplier(pool, "Lima Supplies", "PE")
    found = [Alert(first, MatchKind.NEW, ("42131606",)), Alert(second, MatchKind.NEW)]
    assert await send(pool, found, Cause(tender(), None, None)) == 2

    assert await send(pool, found, Cause(tender(), None, None)) == 0
    third = await supplier(pool, "Addis Trading", "ET")
    grown = [*found, Alert(third, MatchKind.NEW), Alert(third, MatchKind.NEW)]
    assert await send(pool, grown, Cause(tender(), None, None)) == 1
    assert [r["key"] for r in await outbox(pool)] == [first, second, third]

    changes = (FieldChange(field="title", before="Gowns", after="Gowns, sterile"),)
    amended = Cause(tender(revision=2), None, None, changes, "corrected title")
    assert await send(pool, [Alert(first, MatchKind.AMENDED, still_matches=False)], amended) == 1
    last = (await outbox(pool))[-1]
    event = Envelope[MatchCreated].model_validate_json(last["value"])
    assert (event.type, event.data.changes, event.data.reason) == (
        "match.amended",
        changes,
        "corrected title",
    )
    assert event.data.still_matches is False
    assert await pool.fetchval("SELECT count(*) FROM matches") == 4


async def test_the_relay_is_woken_once_the_alerts_commit(pool: asyncpg.Pool) -> None:
    senegal = await supplier(pool, "Dakar Medical", "SN")
    woken: list[str] = []

    def heard(*args: object) -> None:
        woken.append(str(args[2]))

    async with pool.acquire() as listener:
        await listener.add_listener(WAKE_CHANNEL, heard)
        await send(pool, [Alert(senegal, MatchKind.NEW)], Cause(tender(), None, None))

        async def wake_ups() -> list[str]:
            await listener.execute("SELECT 1")  # lets the listener read what has arrived
            return woken

        assert await eventually(wake_ups, until=bool) == [WAKE_CHANNEL]
        await listener.remove_listener(WAKE_CHANNEL, heard)


async def test_no_alerts_write_nothing(pool: asyncpg.Pool) -> None:
    assert await send(pool, [], Cause(tender(), None, None)) == 0
    gone = await supplier(pool, "Closed Shop", "SN", active=False)
    assert await send(pool, [Alert(gone, MatchKind.NEW)], Cause(tender(), None, None)) == 0
    assert await outbox(pool) == []


async def test_many_events_are_queued_in_the_order_given_as_add_to_outbox_writes_each(
    pool: asyncpg.Pool,
) -> None:
    events = [
        Envelope[FieldChange](
            type="test.changed",
            source="tests",
            subject=f"s{n}",
            data=FieldChange(field="n", before=n, after=n + 1),
        )
        for n in range(5)
    ]
    async with pool.acquire() as conn, conn.transaction():
        await add_many_to_outbox(conn, topic=TOPIC, items=[(e.subject, e) for e in events[:4]])
        await add_to_outbox(conn, topic=TOPIC, key="s4", event=events[4])
        await add_many_to_outbox(conn, topic=TOPIC, items=[])

    rows = await outbox(pool)
    assert [r["event_id"] for r in rows] == [e.id for e in events]
    assert [r["key"] for r in rows] == [f"s{n}" for n in range(5)]
    assert [bytes(r["value"]) for r in rows] == [e.model_dump_json().encode() for e in events]
    assert [json.loads(r["headers"]) for r in rows] == [
        [[k, v.decode()] for k, v in e.kafka_headers()] for e in events
    ]
