"""A supplier erased (supplier.erased) leaves no contact detail anywhere in notify's database:
every text, jsonb and array column of every table is searched for its e-mail addresses, its
phone and its legal name, and none is found; what an audit needs (ids, tenders, kinds,
channels, states, attempts, timestamps) stays, and it gets nothing more."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tenderwire_notify import services
from tenderwire_notify.domain import Outcome, Result
from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope
from tenderwire_shared.events.accounts import AccountPurpose
from tenderwire_shared.events.matches import Delivery
from tenderwire_shared.events.suppliers import SUPPLIER_ERASED, SupplierErased
from tests.support.erasure import tables, where_found
from tests.support.eventually import eventually
from tests.support.kafka_reader import group_lag
from tests.support.matching_helpers import unique
from tests.support.notify_api import (
    a_zone_at_11,
    account_message,
    alert_for,
    deliveries,
    publish_to_notify,
    settled,
)
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


async def erased(dsn: str, supplier_id: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(
            await conn.fetchval(
                "SELECT count(*) FROM erased_suppliers WHERE supplier_id = $1", supplier_id
            )
        )
    finally:
        await conn.close()


async def test_an_erased_supplier_leaves_no_contact_detail_in_any_column(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("erase")
    email = f"{supplier_id}@example.org"
    other = f"{supplier_id}-buyer@example.org"
    gone = f"bounce-{supplier_id}@example.org"
    phone = f"+22176{secrets.randbelow(10**7):07d}"
    name = f"Erasable Widgets {secrets.token_hex(4)}"
    dsn = platform.dsns["notify"]

    def alert(n: int, **recipient: Any) -> Any:
        return alert_for(
            supplier_id,
            email,
            f"tender-{supplier_id}-{n}",
            legal_name=name,
            phone=phone,
            also_email=(other, gone),
            **recipient,
        )

    # Alerts by e-mail (to three addresses, one bouncing) and SMS, account messages, and an
    # alert still waiting for tomorrow's digest.
    await publish_to_notify(platform, topics.MATCHES, [alert(1), alert(2)])
    messages = [
        account_message(supplier_id, email, language="fr", legal_name=name),
        account_message(supplier_id, phone, purpose=AccountPurpose.VERIFY_PHONE, legal_name=name),
    ]
    await publish_to_notify(platform, topics.ACCOUNT_MESSAGES, messages)
    await eventually(lambda: deliveries(http, platform, supplier_id), until=lambda r: settled(r, 6))
    await publish_to_notify(
        platform,
        topics.MATCHES,
        [alert(3, delivery=Delivery.DAILY_DIGEST, digest_hour=23, timezone=a_zone_at_11())],
    )
    before = await eventually(
        lambda: deliveries(http, platform, supplier_id),
        until=lambda r: len(r) == 7 and "batched" in {x["state"] for x in r},
    )
    conn = await asyncpg.connect(dsn)
    try:
        # A relay that quotes the address and name in its refusal, as some do.
        await conn.execute(
            "UPDATE deliveries SET last_error = $2 WHERE id = $1",
            before[0]["id"],
            f"SMTP 550 <{email.upper()}> ({name}) refused",
        )
        suppressed = await conn.fetchval(
            "SELECT count(*) FROM suppressions WHERE address = lower($1)", gone
        )
    finally:
        await conn.close()
    assert suppressed == 1
    needles = [email, other, gone, phone, name]
    assert await tables(dsn) >= {"deliveries", "digests", "suppressions"}
    assert {f[2] for f in await where_found(dsn, needles)} == set(needles)

    erasure = Envelope[SupplierErased](
        type=SUPPLIER_ERASED,
        source="tests",
        subject=supplier_id,
        data=SupplierErased(supplier_id=supplier_id, erased_at=datetime.now(UTC)),
    )
    await publish_to_notify(platform, topics.SUPPLIERS, [erasure])
    await eventually(lambda: erased(dsn, supplier_id), until=bool)

    assert await where_found(dsn, needles) == []
    after = await deliveries(http, platform, supplier_id)
    kept = ("id", "tender_id", "kind", "channel", "attempts", "created_at", "sent_at")
    assert [{k: r[k] for k in kept} for r in after] == [{k: r[k] for k in kept} for r in before]
    by_id = {r["id"]: r for r in after}
    waiting = next(r for r in before if r["state"] == "batched")
    assert by_id[waiting["id"]]["state"] == "suppressed"
    assert by_id[waiting["id"]]["last_error"] == "supplier erased"
    assert by_id[before[0]["id"]]["last_error"] == "SMTP 550 <[erased]> ([erased]) refused"

    # Nothing more is sent, nor kept: a later alert and account message are dropped.
    await publish_to_notify(platform, topics.MATCHES, [alert(4)])
    await publish_to_notify(
        platform, topics.ACCOUNT_MESSAGES, [account_message(supplier_id, email)]
    )
    await platform.wait_for_notify_to_catch_up()
    await _accounts_caught_up(platform)
    assert len(await deliveries(http, platform, supplier_id)) == 7
    assert await where_found(dsn, [email]) == []


async def _accounts_caught_up(platform: Platform) -> None:
    settings = platform.notify_settings()
    await eventually(
        lambda: group_lag(
            platform.kafka,
            settings.accounts_consumer_group,
            settings.topic(topics.ACCOUNT_MESSAGES),
        ),
        until=lambda lag: lag[0] == 0,
    )


async def test_a_send_in_flight_during_the_erasure_brings_no_contact_back(
    platform: Platform,
) -> None:
    supplier_id = unique("inflight")
    email, other = f"{supplier_id}@example.org", f"{supplier_id}-buyer@example.org"
    dsn = platform.dsns["notify"]
    ids = [f"{supplier_id}-{n}" for n in (1, 2)]
    conn = await asyncpg.connect(dsn)
    try:
        # Two alerts a worker has claimed and is sending when the erasure arrives.
        for n, row_id in enumerate(ids):
            match = alert_for(supplier_id, email, f"t-{n}", also_email=(other,)).data
            await conn.execute(
                "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel,"
                " address, language, timezone, match, state, claimed_by, other_addresses)"
                " VALUES ($1, $2, $3, 1, 'new', 'email', $4, 'en', 'UTC', $5::jsonb,"
                " 'sending', 'worker-elsewhere', $6)",
                row_id,
                supplier_id,
                f"t-{n}",
                email,
                match.model_dump_json(),
                [other],
            )
    finally:
        await conn.close()
    erasure = Envelope[SupplierErased](
        type=SUPPLIER_ERASED,
        source="tests",
        subject=supplier_id,
        data=SupplierErased(supplier_id=supplier_id, erased_at=datetime.now(UTC)),
    )
    await publish_to_notify(platform, topics.SUPPLIERS, [erasure])
    await eventually(lambda: erased(dsn, supplier_id), until=bool)

    # Then the sends end: one refused for good quoting the address, one to try again after
    # its other contact took it.
    results = [
        Result(
            ids[0],
            False,
            Outcome.FAILED,
            "email",
            key=(supplier_id, "t-0", "email"),
            error=f"SMTP 550 <{email}> no such user",
            suppress_address=email,
        ),
        Result(
            ids[1],
            False,
            Outcome.RETRY,
            "email",
            key=(supplier_id, "t-1", "email"),
            error=f"SMTP 451 <{email}> busy",
            next_attempt_at=datetime.now(UTC),
            copies=(other,),
        ),
    ]
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await services.record_results(conn, results)
        rows = await conn.fetch(
            "SELECT id, state, last_error FROM deliveries WHERE supplier_id = $1 ORDER BY id",
            supplier_id,
        )
    finally:
        await conn.close()

    assert await where_found(dsn, [email, other]) == []
    assert [(r["state"], r["last_error"]) for r in rows] == [
        ("failed", "supplier erased"),
        ("suppressed", "supplier erased"),
    ]
