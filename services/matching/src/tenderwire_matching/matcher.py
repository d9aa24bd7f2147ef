"""Pairs a tender with the suppliers whose UNSPSC codes are close enough to its own."""

from __future__ import annotations

from dataclasses import dataclass

from tenderwire_shared.db import Connection
from tenderwire_shared.events.tenders import TenderSnapshot
from tenderwire_shared.unspsc import ancestors


@dataclass(frozen=True)
class Candidate:
    supplier_id: str
    legal_name: str
    email: str
    language: str
    timezone: str
    country: str
    matched_codes: tuple[str, ...]


async def find_candidates(
    conn: Connection, tender: TenderSnapshot, *, levels: int
) -> list[Candidate]:
    """Active suppliers with a code equal to a tender code, or within `levels` of it.

    A supplier code may sit above the tender's (a class covering the commodity) or below it
    (a commodity inside the tender's class); both directions are indexed lookups.
    """
    tender_codes = list(tender.unspsc_codes)
    upward = sorted({a for code in tender_codes for a in ancestors(code)[:levels]})
    rows = await conn.fetch(
        "SELECT s.id, s.legal_name, s.email, s.language, s.timezone, s.country,"
        "       array_agg(DISTINCT c.code ORDER BY c.code) AS codes"
        " FROM supplier_codes c JOIN suppliers s ON s.id = c.supplier_id"
        " WHERE s.active AND ("
        "   c.code = ANY($1::text[]) OR c.code = ANY($2::text[])"
        "   OR ($3 > 0 AND c.parents[1:$3] && $1::text[]))"
        " GROUP BY s.id ORDER BY s.id",
        tender_codes,
        upward,
        levels,
    )
    return [
        Candidate(
            supplier_id=r["id"],
            legal_name=r["legal_name"],
            email=r["email"],
            language=r["language"],
            timezone=r["timezone"],
            country=r["country"],
            matched_codes=tuple(r["codes"]),
        )
        for r in rows
    ]
