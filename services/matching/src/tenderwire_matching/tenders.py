"""The tenders as matching last saw them."""

from __future__ import annotations

from tenderwire_matching.rules import TenderFacts
from tenderwire_shared.db import Connection
from tenderwire_shared.events.tenders import TenderSnapshot, TenderStatus

OPEN = (TenderStatus.PUBLISHED.value, TenderStatus.AMENDED.value)


async def remember(conn: Connection, tender: TenderSnapshot) -> bool:
    """Store this revision; False when an equal or newer one is already known (a replay)."""
    stored = await conn.fetchval(
        "INSERT INTO tenders (tender_id, revision, status, snapshot) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (tender_id) DO UPDATE SET revision = EXCLUDED.revision,"
        " status = EXCLUDED.status, snapshot = EXCLUDED.snapshot, updated_at = now()"
        " WHERE tenders.revision < EXCLUDED.revision RETURNING true",
        tender.tender_id,
        tender.revision,
        tender.status.value,
        tender.model_dump_json(),
    )
    return bool(stored)


async def open_tenders(conn: Connection) -> list[TenderSnapshot]:
    rows = await conn.fetch(
        "SELECT snapshot FROM tenders WHERE status = ANY($1::text[])", list(OPEN)
    )
    return [TenderSnapshot.model_validate_json(r["snapshot"]) for r in rows]


def facts_of(tender: TenderSnapshot) -> TenderFacts:
    return TenderFacts.of(
        codes=tender.unspsc_codes,
        beneficiary_countries=tender.beneficiary_countries,
        agency=tender.agency,
        notice_type=tender.notice_type.value,
        title=tender.title,
        description=tender.description,
    )
