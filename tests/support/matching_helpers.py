"""Helpers for matching tests: register suppliers, publish tenders, read what matching decided."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tenderwire_shared.envelope import new_event_id
from tests.support.eventually import eventually
from tests.support.notices_api import Agency, in_days
from tests.support.platform import OPERATOR_HEADERS, Platform


def unique(label: str) -> str:
    return f"{label}-{new_event_id()[-12:]}"


def supplier(**overrides: Any) -> dict[str, Any]:
    return {
        "legal_name": unique("Supplier"),
        "country": "SEN",
        "unspsc_codes": ["42131606"],
        "email": f"{unique('bids')}@example.org",
        **overrides,
    }


async def register(http: httpx.AsyncClient, platform: Platform, **fields: Any) -> dict[str, Any]:
    """Registered verified, as an integrator that checked the contacts (the operators' token):
    these suppliers get alerts at once, with no link to open first."""
    assert platform.matching is not None
    response = await http.post(
        f"{platform.matching.url}/v1/suppliers", json=supplier(**fields), headers=OPERATOR_HEADERS
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def tender(**overrides: Any) -> dict[str, Any]:
    return {
        "reference": unique("RFQ"),
        "title": "Isolation gowns for health centres",
        "description": "Disposable isolation gowns.",
        "notice_type": "request_for_quotation",
        "unspsc_codes": ["42131606"],
        "beneficiary_countries": ["SN"],
        "deadline": in_days(20),
        **overrides,
    }


async def publish(agency: Agency, **overrides: Any) -> dict[str, Any]:
    response = await agency.publish(tender(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def seen_by_matching(platform: Platform, tender_id: str, revision: int) -> None:
    """Wait until matching has handled this revision (its matches commit with it)."""

    async def stored() -> int:
        conn = await asyncpg.connect(platform.dsns["matching"])
        try:
            value = await conn.fetchval(
                "SELECT revision FROM tenders WHERE tender_id = $1", tender_id
            )
        finally:
            await conn.close()
        return int(value or 0)

    await eventually(stored, until=lambda r: r >= revision)


async def alerts_for(platform: Platform, tender_id: str) -> set[tuple[str, str, int, bool]]:
    """(supplier id, kind, revision, still matches) for every alert about the tender."""
    conn = await asyncpg.connect(platform.dsns["matching"])
    try:
        rows = await conn.fetch(
            "SELECT supplier_id, kind, revision, still_matches FROM matches WHERE tender_id = $1",
            tender_id,
        )
    finally:
        await conn.close()
    return {(r["supplier_id"], r["kind"], r["revision"], r["still_matches"]) for r in rows}


async def matched_ids(platform: Platform, tender_id: str) -> set[str]:
    return {a[0] for a in await alerts_for(platform, tender_id)}
