"""Matching's use cases: the supplier registry's changes, and matching a tender's events.

Each registry change runs in one transaction under the matching lock: the change, its
change-log row, its supplier event and the backfill commit together. `match_tender` runs
inside the inbox transaction of its event, so it takes that connection and opens none.
Who hears about what is decided in `domain.matching`; this module reads and writes around it.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import structlog

from tenderwire_matching import repository
from tenderwire_matching.domain.eligibility import check_eligible
from tenderwire_matching.domain.matching import (
    MATCHING_FIELDS,
    Alert,
    NoCodesError,
    alerts_to,
    amendment_alerts,
    check_codes_can_match,
    facts_of,
    in_sending_order,
    matched_codes,
    matches,
    new_match_alerts,
)
from tenderwire_matching.live_index import LiveIndex
from tenderwire_matching.match_events import SOURCE, Cause, MatchEvents
from tenderwire_matching.portal.catalogue import services as catalogue
from tenderwire_matching.schemas import RegisteredSupplier, SupplierRegistration, SupplierUpdate
from tenderwire_shared.db import Connection, unit_of_work
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.matches import MatchKind
from tenderwire_shared.events.suppliers import (
    SUPPLIER_DEACTIVATED,
    SUPPLIER_REGISTERED,
    SUPPLIER_UPDATED,
    SupplierChanged,
)
from tenderwire_shared.events.tenders import (
    TenderAmended,
    TenderCancelled,
    TenderEvent,
    TenderPublished,
    TenderStatus,
)
from tenderwire_shared.outbox import add_rows_to_outbox, add_to_outbox

log = structlog.get_logger()


@dataclass(frozen=True)
class Policy:
    suppliers_topic: str
    matches_topic: str
    levels: int
    refuse_developed: bool
    ldc_first: bool
    cpv_levels: int | None = None  # None: as `levels`


# The supplier registry.


async def register(
    pool: asyncpg.Pool, registration: SupplierRegistration, policy: Policy, correlation_id: str
) -> RegisteredSupplier:
    check_codes_can_match(registration.unspsc_codes or [], policy.levels)
    check_eligible(registration.country, refuse_developed=policy.refuse_developed)
    supplier_id = new_event_id()
    token = secrets.token_urlsafe(32)
    async with unit_of_work(pool) as conn:
        await repository.matching_lock(conn)
        await repository.insert(conn, supplier_id, registration, token)
        row = await _changed(conn, supplier_id, SUPPLIER_REGISTERED, policy, correlation_id)
        await backfill(conn, row, policy, correlation_id)
    return RegisteredSupplier(**repository.view(row).model_dump(), token=token)


async def update(
    pool: asyncpg.Pool,
    supplier_id: str,
    change: SupplierUpdate,
    policy: Policy,
    correlation_id: str,
) -> asyncpg.Record:
    if change.unspsc_codes is not None:
        check_codes_can_match(change.unspsc_codes, policy.levels)
    async with unit_of_work(pool) as conn:
        await repository.matching_lock(conn)
        await repository.update(conn, supplier_id, change)
        row = await _changed(conn, supplier_id, SUPPLIER_UPDATED, policy, correlation_id)
        if not row["codes"] and not row["cpv_codes"]:
            # Raised inside the unit of work: the change is rolled back, nothing is sent.
            raise NoCodesError("a supplier needs unspsc_codes, cpv_codes or both")
        if MATCHING_FIELDS & change.model_fields_set:
            await backfill(conn, row, policy, correlation_id)
    return row


async def deactivate(
    pool: asyncpg.Pool, supplier_id: str, policy: Policy, correlation_id: str
) -> None:
    async with unit_of_work(pool) as conn:
        await repository.matching_lock(conn)
        await repository.deactivate(conn, supplier_id)
        await _changed(conn, supplier_id, SUPPLIER_DEACTIVATED, policy, correlation_id)


async def _changed(
    conn: Connection, supplier_id: str, event_type: str, policy: Policy, correlation_id: str
) -> asyncpg.Record:
    await repository.log_change(conn, supplier_id)
    row = await repository.row(conn, supplier_id)
    if row is None:
        raise repository.SupplierNotFoundError(supplier_id)
    event = Envelope[SupplierChanged](
        type=event_type,
        source=SOURCE,
        subject=supplier_id,
        correlationid=correlation_id,
        data=SupplierChanged(
            supplier=repository.recipient(row),
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
    profile = repository.profile(supplier)
    known = await repository.tenders_alerted_to(conn, supplier["id"])
    sent = 0
    for tender in await repository.open_tenders(conn):
        facts = facts_of(tender)
        if tender.tender_id in known or not matches(
            profile, facts, policy.levels, policy.cpv_levels
        ):
            continue
        alert = Alert(supplier["id"], MatchKind.NEW, matched_codes(profile, facts, policy.levels))
        sent += await send_alerts(
            conn,
            [alert],
            Cause(tender, correlation_id, None),
            topic=policy.matches_topic,
            ldc_first=False,
        )
    return sent


# Tenders: each event is matched once, inside its inbox transaction.


async def match_tender(
    conn: Connection,
    live: LiveIndex,
    data: TenderEvent,
    *,
    correlation_id: str | None,
    causation_id: str,
    topic: str,
    ldc_first: bool,
) -> int | None:
    """Remember this revision of the tender and alert who should hear of it (the rules are in
    `domain.matching`); returns how many were alerted, or None for a stale revision."""
    tender = data.tender
    await repository.matching_lock(conn)
    if not await repository.remember(conn, tender):
        log.info("tender_revision_stale", tender_id=tender.tender_id, revision=tender.revision)
        return None
    if _brings_titles(data):
        await catalogue.learn_from(conn, tender)
    await live.catch_up(conn)
    cause = Cause(tender, correlation_id, causation_id)
    batches: list[list[Alert]] = []
    if isinstance(data, TenderPublished) and tender.status is not TenderStatus.CLOSED:
        batches = [new_match_alerts(live.index.match(facts_of(tender)), already=set())]
    elif isinstance(data, TenderAmended):
        cause = Cause(tender, correlation_id, causation_id, data.changes, data.reason)
        alerted = await repository.alerted_suppliers(conn, tender.tender_id)
        matching_now = live.index.match(facts_of(tender))
        # The amendment to those who heard before, then the suppliers that match only now.
        batches = [
            amendment_alerts(alerted, matching_now),
            new_match_alerts(matching_now, already=alerted),
        ]
    elif isinstance(data, TenderCancelled):
        cause = Cause(tender, correlation_id, causation_id, reason=data.reason)
        alerted = await repository.alerted_suppliers(conn, tender.tender_id)
        batches = [alerts_to(alerted, MatchKind.CANCELLED)]
    sent = 0
    for batch in batches:
        sent += await send_alerts(conn, batch, cause, topic=topic, ldc_first=ldc_first)
    return sent


def _brings_titles(data: TenderEvent) -> bool:
    # Counted once per tender, and again only when an amendment reclassifies it: the code
    # picker shows the description the most notices carried.
    if isinstance(data, TenderPublished):
        return True
    return isinstance(data, TenderAmended) and any(
        change.field == "classifications" for change in data.changes
    )


async def send_alerts(
    conn: Connection,
    alerts: Sequence[Alert],
    cause: Cause,
    *,
    topic: str,
    ldc_first: bool,
) -> int:
    """Record and announce `alerts` once each; returns how many were new. LDC suppliers go first.

    A few statements whatever the number of alerts: the suppliers, the matches, the events.
    """
    if not alerts:
        return 0
    suppliers = await repository.contact_rows(
        conn, list(dict.fromkeys(a.supplier_id for a in alerts))
    )
    recipients = {r["id"]: repository.recipient(r) for r in suppliers if r["active"]}
    ordered = in_sending_order(
        alerts, {s: r.least_developed for s, r in recipients.items()}, ldc_first=ldc_first
    )
    match_ids = [new_event_id() for _ in ordered]
    created = await repository.record_matches(
        conn, list(zip(match_ids, ordered, strict=True)), cause.tender
    )
    # The outbox's order is the order suppliers hear in, so it follows `ordered`, not the
    # order the database happened to return the new rows in.
    events = MatchEvents(cause)
    rows = [
        events.row(
            match_id=match_id,
            kind=alert.kind,
            recipient=recipients[alert.supplier_id],
            matched_codes=alert.matched_codes,
            still_matches=alert.still_matches,
        )
        for match_id, alert in zip(match_ids, ordered, strict=True)
        if match_id in created
    ]
    await add_rows_to_outbox(conn, topic=topic, rows=rows)
    return len(rows)
