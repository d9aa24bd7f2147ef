"""SQL for notices; every function takes a connection so callers own the transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import asyncpg

from tenderwire_shared.db import Connection
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot


class DuplicateReferenceError(Exception):
    pass


async def insert(conn: Connection, snapshot: TenderSnapshot, status: str) -> None:
    try:
        await conn.execute(
            "INSERT INTO notices (id, agency, reference, title, description, language,"
            " notice_type, unspsc_codes, beneficiary_countries, deadline,"
            " deadline_utc_offset_minutes, status, revision, published_at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
            snapshot.tender_id,
            snapshot.agency,
            snapshot.reference,
            snapshot.title,
            snapshot.description,
            snapshot.language,
            snapshot.notice_type.value,
            list(snapshot.unspsc_codes),
            list(snapshot.beneficiary_countries),
            snapshot.deadline,
            snapshot.deadline_utc_offset_minutes,
            status,
            snapshot.revision,
            snapshot.published_at,
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateReferenceError(snapshot.reference) from exc


async def get(conn: Connection | asyncpg.Pool, notice_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM notices WHERE id = $1", notice_id)


def local_deadline(row: asyncpg.Record) -> datetime:
    offset = timezone(timedelta(minutes=row["deadline_utc_offset_minutes"]))
    deadline: datetime = row["deadline"]
    return deadline.astimezone(UTC).astimezone(offset)


def notice_type(row: asyncpg.Record) -> NoticeType:
    return NoticeType(row["notice_type"])
