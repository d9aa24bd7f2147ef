"""The supplier search box: an exact id, or a piece of the legal name."""

from __future__ import annotations

from pydantic import BaseModel

from tenderwire_console.read_models.sql import Database, like_pattern


class SupplierHit(BaseModel):
    id: str
    legal_name: str
    country: str
    active: bool


async def find_suppliers(matching: Database, text: str, *, limit: int = 50) -> list[SupplierHit]:
    """By exact id, or by a piece of the legal name (contacts are not searchable)."""
    rows = await matching.fetch(
        "SELECT id, legal_name, country, active FROM suppliers"
        " WHERE id = $1 OR legal_name ILIKE $2 ORDER BY id = $1 DESC, legal_name LIMIT $3",
        text,
        like_pattern(text),
        limit,
    )
    return [SupplierHit.model_validate(dict(r)) for r in rows]
