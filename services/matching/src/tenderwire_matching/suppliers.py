"""Use cases of the supplier registry. Each runs in one transaction under the matching lock:
the change, its change-log row, its supplier event and the backfill commit together."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import asyncpg

from tenderwire_matching import alerts, registry
from tenderwire_matching.alerts import Alert
from tenderwire_matching.live_index import matching_lock
from tenderwire_matching.match_events import SOURCE, Cause
from tenderwire_matching.rules import matched_codes, matches, why_code_never_matches
from tenderwire_matching.schemas import RegisteredSupplier, SupplierRegistration, SupplierUpdate
from tenderwire_matching.tenders import facts_of, open_tenders
from tenderwire_shared.api_errors import ApiError, FieldError
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.matches import MatchKind
from tenderwire_shared.events.suppliers import (
    SUPPLIER_DEACTIVATED,
    SUPPLIER_REGISTERED,
    SUPPLIER_UPDATED,
    SupplierChanged,
)
from tenderwire_shared.outbox import add_to_outbox

# What can change which tenders a supplier matches: a change to any of these backfills.
MATCHING_FIELDS = {"unspsc_codes", "beneficiary_countries", "agencies", "notice_types", "keywords"}


@dataclass(frozen=True)
class Policy:
    suppliers_topic: str
    matches_topic: str
    levels: int
    refuse_developed: bool
    ldc_first: bool


def check_codes_can_match(codes: list[str], levels: int) -> None:
    """Refuses codes too high in the hierarchy to reach any tender: the supplier would
    otherwise be registered and never hear of anything."""
    # No index in `loc`: the list was deduplicated, so positions may not be the caller's;
    # each message names its code.
    refused = [
        FieldError(("body", "unspsc_codes"), reason, "unspsc_level_never_matches")
        for code in codes
        if (reason := why_code_never_matches(code, levels)) is not None
    ]
    if refused:
        # A few examples tell the caller what is wrong; 500 of them would only be long.
        raise ApiError(422, refused[:_MAX_CODE_ERRORS])


_MAX_CODE_ERRORS = 10


async def register(
    pool: asyncpg.Pool, registration: SupplierRegistration, policy: Policy, correlation_id: str
) -> RegisteredSupplier:
    check_codes_can_match(registration.unspsc_codes, policy.levels)
    registry.check_eligible(registration, refuse_developed=policy.refuse_developed)
    supplier_id = new_event_id()
    token = secrets.token_urlsafe(32)
    async with pool.acquire() as conn, conn.transaction():
        await matching_lock(conn)
        await registry.insert(conn, supplier_id, registration, token)
        row = await _changed(conn, supplier_id, SUPPLIER_REGISTERED, policy, correlation_id)
        await backfill(conn, row, policy, correlation_id)
    return RegisteredSupplier(**registry.view(row).model_dump(), token=token)


async def update(
    pool: asyncpg.Pool,
    supplier_id: str,
    change: SupplierUpdate,
    policy: Policy,
    correlation_id: str,
) -> asyncpg.Record:
    if change.unspsc_codes is not None:
        check_codes_can_match(change.unspsc_codes, policy.levels)
    async with pool.acquire() as conn, conn.transaction():
        await matching_lock(conn)
        await registry.update(conn, supplier_id, change)
        row = await _changed(conn, supplier_id, SUPPLIER_UPDATED, policy, correlation_id)
        if MATCHING_FIELDS & change.model_fields_set:
            await backfill(conn, row, policy, correlation_id)
    return row


async def deactivate(
    pool: asyncpg.Pool, supplier_id: str, policy: Policy, correlation_id: str
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await matching_lock(conn)
        await registry.deactivate(conn, supplier_id)
        await _changed(conn, supplier_id, SUPPLIER_DEACTIVATED, policy, correlation_id)


async def _changed(
    conn: Connection, supplier_id: str, event_type: str, policy: Policy, correlation_id: str
) -> asyncpg.Record:
    await registry.log_change(conn, supplier_id)
    row = await registry.row(conn, supplier_id)
    if row is None:
        raise registry.SupplierNotFoundError(supplier_id)
    event = Envelope[SupplierChanged](
        type=event_type,
        source=SOURCE,
        subject=supplier_id,
        correlationid=correlation_id,
        data=SupplierChanged(
            supplier=registry.recipient(row),
            country=row["country"],
            unspsc_codes=tuple(row["codes"]),
            active=row["active"],
            version=row["version"],
        ),
    )
    await add_to_outbox(conn, topic=policy.suppliers_topic, key=supplier_id, event=event)
    return row


async def backfill(
    conn: Connection, supplier: asyncpg.Record, policy: Policy, correlation_id: str
) -> int:
    """Alert the supplier to the open tenders it matches now and has not heard about yet."""
    profile = registry.profile(supplier)
    already = await conn.fetch(
        "SELECT DISTINCT tender_id FROM matches WHERE supplier_id = $1", supplier["id"]
    )
    known = {r["tender_id"] for r in already}
    sent = 0
    for tender in await open_tenders(conn):
        facts = facts_of(tender)
        if tender.tender_id in known or not matches(profile, facts, policy.levels):
            continue
        alert = Alert(supplier["id"], MatchKind.NEW, matched_codes(profile, facts, policy.levels))
        sent += await alerts.send(
            conn,
            [alert],
            Cause(tender, correlation_id, None),
            topic=policy.matches_topic,
            ldc_first=False,
        )
    return sent
