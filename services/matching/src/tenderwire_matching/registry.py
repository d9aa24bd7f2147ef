"""Supplier registry: registration and self-service lookup with a bearer token."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import asyncpg

from tenderwire_matching.eligibility import classify
from tenderwire_matching.schemas import RegisteredSupplier, SupplierRegistration, SupplierView
from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.unspsc import ancestors


class IneligibleCountryError(Exception):
    pass


class DuplicateSupplierError(Exception):
    pass


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def register(
    pool: asyncpg.Pool, registration: SupplierRegistration, *, refuse_developed: bool
) -> RegisteredSupplier:
    classification = classify(registration.country)
    if refuse_developed and not classification.eligible:
        raise IneligibleCountryError(
            f"{registration.country} is classified as a developed economy; Tenderwire serves"
            " suppliers registered in developing countries and economies in transition"
        )
    supplier_id = new_event_id()
    token = secrets.token_urlsafe(32)
    async with pool.acquire() as conn, conn.transaction():
        try:
            await conn.execute(
                "INSERT INTO suppliers (id, legal_name, country, email, language, timezone,"
                " token_hash) VALUES ($1,$2,$3,$4,$5,$6,$7)",
                supplier_id,
                registration.legal_name,
                registration.country,
                registration.email,
                registration.language.value,
                registration.timezone,
                _hash_token(token),
            )
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateSupplierError(
                "a supplier with this legal name and country, or this e-mail, is already registered"
            ) from exc
        await conn.executemany(
            "INSERT INTO supplier_codes (supplier_id, code, parents) VALUES ($1, $2, $3)",
            [(supplier_id, code, ancestors(code)) for code in registration.unspsc_codes],
        )
        view = await get(conn, supplier_id)
    assert view is not None
    return RegisteredSupplier(**view.model_dump(), token=token)


async def get(conn: Connection | asyncpg.Pool, supplier_id: str) -> SupplierView | None:
    row = await conn.fetchrow(
        "SELECT s.*, array_agg(c.code ORDER BY c.code) AS codes FROM suppliers s"
        " JOIN supplier_codes c ON c.supplier_id = s.id WHERE s.id = $1 GROUP BY s.id",
        supplier_id,
    )
    if row is None:
        return None
    classification = classify(row["country"])
    return SupplierView(
        id=row["id"],
        legal_name=row["legal_name"],
        country=row["country"],
        economy_group=classification.group.value,
        least_developed=classification.least_developed,
        unspsc_codes=list(row["codes"]),
        email=row["email"],
        language=row["language"],
        timezone=row["timezone"],
        active=row["active"],
    )


async def token_matches(pool: asyncpg.Pool, supplier_id: str, token: str) -> bool:
    stored = await pool.fetchval("SELECT token_hash FROM suppliers WHERE id = $1", supplier_id)
    return stored is not None and hmac.compare_digest(stored, _hash_token(token))
