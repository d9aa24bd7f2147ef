"""A claimed row that notify cannot turn into a message fails on its own; it never strands the
rest of its claim in 'sending'.

The realistic trigger is a database outage between the claim's commit and the read of the
claimed rows' match JSON, which a test cannot time; a ledger row whose match JSON no longer
parses (written by another version of notify) takes the same path, deterministically.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tenderwire_shared.envelope import new_event_id
from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.pipeline_platform import alerts, rows_for
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

READABLE = 5


async def put_in_ledger(platform: Platform, rows: list[tuple[str, str, str]]) -> None:
    """(supplier id, address, match JSON) each, all due now, in one transaction so that one
    claim takes them all."""
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        await conn.executemany(
            "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel,"
            " address, language, timezone, match, state, next_attempt_at)"
            " VALUES ($1, $2, 'tender-' || $2, 1, 'new', 'email', $3, 'en', 'UTC', $4::jsonb,"
            " 'queued', now())",
            [(new_event_id(), supplier, address, match) for supplier, address, match in rows],
        )
    finally:
        await conn.close()


async def test_a_row_notify_cannot_read_fails_alone_and_the_rest_of_its_claim_is_sent(
    platform: Platform, mail_catcher: MailCatcher
) -> None:
    prefix = f"claims-{new_event_id()[-8:]}-"
    readable = [
        (e.data.recipient.supplier_id, e.data.recipient.email, e.data.model_dump_json())
        for e in alerts(prefix, READABLE)
    ]
    unreadable = (f"{prefix}unreadable", f"{prefix}unreadable@example.org", '{"kind": "new"}')
    await put_in_ledger(platform, [*readable, unreadable])

    def settled(rows: list[Any]) -> bool:
        return len(rows) == READABLE + 1 and all(
            r["state"] not in ("queued", "sending") for r in rows
        )

    rows = await eventually(lambda: rows_for(platform, prefix), until=settled, within=30)
    caught = [
        m.recipients[0] for m in mail_catcher.store.all() if m.recipients[0].startswith(prefix)
    ]
    print(f"pipeline claims: {len(caught)} of {READABLE} readable alerts sent")
    assert {r["supplier_id"]: r["state"] for r in rows} == {
        **{supplier: "sent" for supplier, _, _ in readable},
        unreadable[0]: "failed",
    }
    assert sorted(caught) == sorted(address for _, address, _ in readable)
