"""The tender search box: an id, an agency's reference, or a piece of the title."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tenderwire_console.read_models.sql import Database, like_pattern


class TenderHit(BaseModel):
    id: str
    agency: str
    reference: str
    title: str
    status: str
    revision: int
    published_at: datetime


async def find_tenders(notices: Database, text: str, *, limit: int = 50) -> list[TenderHit]:
    """Newest first; with no text, the latest tenders."""
    rows = await notices.fetch(
        "SELECT id, agency, reference, title, status, revision, published_at FROM notices"
        " WHERE $1 = '' OR id = $1 OR reference ILIKE $2 OR title ILIKE $2"
        " ORDER BY id = $1 DESC, published_at DESC, id DESC LIMIT $3",
        text,
        like_pattern(text),
        limit,
    )
    return [TenderHit.model_validate(dict(r)) for r in rows]
