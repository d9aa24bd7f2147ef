"""A small demo data set: three suppliers, and a tender that two of them should hear about."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

DEMO_SUPPLIERS: list[dict[str, Any]] = [
    {
        "legal_name": "Sahel Medical Supplies SARL",
        "country": "SN",
        "unspsc_codes": ["42131600"],
        "email": "offres@sahel-medical.example",
        "phone": "+221 77 123 45 67",
        "language": "fr",
        "timezone": "Africa/Dakar",
    },
    {
        "legal_name": "Andes Salud SAC",
        "country": "PE",
        "unspsc_codes": ["42131606", "42132200"],
        "email": "licitaciones@andes-salud.example",
        "language": "es",
        "timezone": "America/Lima",
    },
    {
        "legal_name": "Nairobi Water Engineering Ltd",
        "country": "KE",
        "unspsc_codes": ["40141700"],
        "email": "tenders@nairobi-water.example",
        "language": "en",
        "timezone": "Africa/Nairobi",
    },
]

DEMO_AGENCY = ("UNICEF", "United Nations Children's Fund")

DEMO_TENDER: dict[str, Any] = {
    "reference": "UNICEF-DEMO-0001",
    "title": "Isolation gowns for health centres",
    "description": "Long-term agreement for disposable isolation gowns.",
    "notice_type": "request_for_quotation",
    "unspsc_codes": ["42131606"],
    "beneficiary_countries": ["SN", "ML"],
    "deadline": "2027-01-15T17:00:00+01:00",
}


async def agency_key(notices_dsn: str) -> str:
    """A fresh API key for the demo agency, creating the agency on first use."""
    # Imported here: the notices use cases pull in FastAPI and OCDS, a second on every `tw` start.
    from tenderwire_notices import repository, services

    conn = await asyncpg.connect(notices_dsn)
    try:
        if not await repository.agency_exists(conn, DEMO_AGENCY[0]):
            await services.create_agency(conn, *DEMO_AGENCY)
        return await services.issue_key(conn, DEMO_AGENCY[0], label="make run demo")
    finally:
        await conn.close()


def load(matching_url: str, operator_token: str) -> list[str]:
    """Register the demo suppliers; already-registered ones are left as they are.

    Registered with the operators' token, which vouches for their (made-up) addresses, so they
    get alerts without the double opt-in a supplier registering itself goes through.
    """
    lines = []
    headers = {"Authorization": f"Bearer {operator_token}"}
    with httpx.Client(base_url=matching_url, timeout=10.0, headers=headers) as client:
        for supplier in DEMO_SUPPLIERS:
            response = client.post("/v1/suppliers", json=supplier)
            if response.status_code == 201:
                lines.append(f"registered {supplier['legal_name']} ({supplier['country']})")
            elif response.status_code == 409:
                lines.append(f"already registered: {supplier['legal_name']}")
            else:
                response.raise_for_status()
    return lines
