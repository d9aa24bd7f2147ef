"""SQL for notices. Every function takes a connection, so the caller owns the transaction."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tenderwire_notices.domain import DuplicateReferenceError
from tenderwire_notices.schemas import Revision
from tenderwire_shared.db import Connection
from tenderwire_shared.events.tenders import FieldChange, TenderSnapshot

NOTICE_ID = r"^[A-Za-z0-9-]{1,64}$"
_NOTICE_ID = re.compile(NOTICE_ID)

_COLUMNS = (
    "id, agency, reference, title, description, language, notice_type, unspsc_codes,"
    " beneficiary_countries, deadline, deadline_utc_offset_minutes, status, revision,"
    " published_at, documents, contacts, ocid, cancellation_reason, award"
)


def _row_values(t: TenderSnapshot) -> tuple[Any, ...]:
    dumped = t.model_dump(mode="json")
    return (
        t.tender_id, t.agency, t.reference, t.title, t.description, t.language,
        t.notice_type.value, list(t.unspsc_codes), list(t.beneficiary_countries), t.deadline,
        t.deadline_utc_offset_minutes, t.status.value, t.revision, t.published_at,
        json.dumps(dumped["documents"]), json.dumps(dumped["contacts"]), t.ocid,
        t.cancellation_reason, json.dumps(dumped["award"]) if t.award else None,
    )  # fmt: skip


def to_snapshot(row: asyncpg.Record, public_base_url: str) -> TenderSnapshot:
    data = dict(row)
    data["tender_id"] = data.pop("id")
    data["documents"] = json.loads(data["documents"])
    data["contacts"] = json.loads(data["contacts"])
    data["award"] = json.loads(data["award"]) if data["award"] else None
    data["url"] = f"{public_base_url}/v1/notices/{data['tender_id']}"
    return TenderSnapshot.model_validate(data)


async def insert(conn: Connection, tender: TenderSnapshot) -> None:
    placeholders = ", ".join(f"${i}" for i in range(1, 20))
    try:
        await conn.execute(
            f"INSERT INTO notices ({_COLUMNS}) VALUES ({placeholders})",  # noqa: S608
            *_row_values(tender),
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateReferenceError(
            f"agency {tender.agency} already has a notice with reference {tender.reference!r}"
        ) from exc


async def update(conn: Connection, tender: TenderSnapshot) -> None:
    assignments = ", ".join(
        f"{name.strip()} = ${i}" for i, name in enumerate(_COLUMNS.split(","), start=1)
    )
    await conn.execute(
        f"UPDATE notices SET {assignments}, updated_at = now() WHERE id = $1",  # noqa: S608
        *_row_values(tender),
    )


async def lock(conn: Connection, notice_id: str, agency: str) -> asyncpg.Record | None:
    """The agency's notice, locked until the transaction ends; None for anyone else's."""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM notices WHERE id = $1 AND agency = $2 FOR UPDATE",  # noqa: S608
        notice_id,
        agency,
    )


async def get(conn: Connection | asyncpg.Pool, notice_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM notices WHERE id = $1", notice_id)  # noqa: S608


async def find_by_ocid(conn: Connection, agency: str, ocid: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM notices WHERE agency = $1 AND ocid = $2",  # noqa: S608
        agency,
        ocid,
    )


async def due_for_closing(conn: Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_COLUMNS} FROM notices WHERE status IN ('published', 'amended')"  # noqa: S608
        " AND deadline <= $1 ORDER BY deadline LIMIT $2 FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )


async def add_revision(
    conn: Connection,
    tender: TenderSnapshot,
    *,
    event_type: str,
    occurred_at: datetime,
    reason: str | None = None,
    changes: tuple[FieldChange, ...] = (),
) -> None:
    await conn.execute(
        "INSERT INTO notice_revisions (notice_id, revision, event_type, reason, changes,"
        " snapshot, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        tender.tender_id,
        tender.revision,
        event_type,
        reason,
        json.dumps([c.model_dump(mode="json") for c in changes]),
        tender.model_dump_json(),
        occurred_at,
    )


async def revisions(conn: Connection | asyncpg.Pool, notice_id: str) -> list[Revision]:
    rows = await conn.fetch(
        "SELECT revision, event_type, reason, changes, occurred_at FROM notice_revisions"
        " WHERE notice_id = $1 ORDER BY revision",
        notice_id,
    )
    return [
        Revision(
            revision=r["revision"],
            event_type=r["event_type"],
            reason=r["reason"],
            changes=[FieldChange.model_validate(c) for c in json.loads(r["changes"])],
            occurred_at=r["occurred_at"],
        )
        for r in rows
    ]


async def revision_snapshots(
    conn: Connection | asyncpg.Pool, notice_id: str
) -> list[asyncpg.Record]:
    """Every revision with its full snapshot, oldest first (for OCDS export)."""
    return await conn.fetch(
        "SELECT revision, event_type, reason, snapshot, occurred_at FROM notice_revisions"
        " WHERE notice_id = $1 ORDER BY revision",
        notice_id,
    )


@dataclass(frozen=True)
class SearchFilter:
    agency: str | None = None
    status: str | None = None
    notice_type: str | None = None
    unspsc_prefix: str | None = None
    country: str | None = None
    deadline_from: datetime | None = None
    deadline_to: datetime | None = None


def encode_cursor(published_at: datetime, notice_id: str) -> str:
    raw = json.dumps([published_at.isoformat(), notice_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError for anything that is not a cursor this service made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        published_at, notice_id = json.loads(raw)
        moment = datetime.fromisoformat(published_at)
        # Both reach SQL: a hand-made cursor must not bring a NUL, a naive time or a year
        # PostgreSQL's driver cannot convert.
        moment.astimezone(UTC)
        if moment.tzinfo is None or not _NOTICE_ID.match(notice_id):
            raise ValueError("not a cursor this service made")
    except Exception as exc:
        raise ValueError(
            "cursor is not valid; pass back the next_cursor of a previous page"
        ) from exc
    return moment, notice_id


async def search(
    conn: Connection | asyncpg.Pool,
    where: SearchFilter,
    *,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[asyncpg.Record]:
    """Newest first, keyset-paginated, so pages stay stable while notices are added."""
    conditions = ["TRUE"]
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if where.agency:
        conditions.append(f"agency = {arg(where.agency)}")
    if where.status:
        conditions.append(f"status = {arg(where.status)}")
    if where.notice_type:
        conditions.append(f"notice_type = {arg(where.notice_type)}")
    if where.unspsc_prefix:
        # The API lets only digits through, so LIKE sees no wildcard but the one added here.
        pattern = arg(where.unspsc_prefix + "%")
        conditions.append(f"EXISTS (SELECT 1 FROM unnest(unspsc_codes) c WHERE c LIKE {pattern})")  # noqa: S608
    if where.country:
        conditions.append(f"{arg(where.country)} = ANY(beneficiary_countries)")
    if where.deadline_from:
        conditions.append(f"deadline >= {arg(where.deadline_from)}")
    if where.deadline_to:
        conditions.append(f"deadline < {arg(where.deadline_to)}")
    if after:
        conditions.append(f"(published_at, id) < ({arg(after[0])}, {arg(after[1])})")
    sql = (
        f"SELECT {_COLUMNS} FROM notices WHERE {' AND '.join(conditions)}"  # noqa: S608
        f" ORDER BY published_at DESC, id DESC LIMIT {arg(limit)}"
    )
    return await conn.fetch(sql, *args)
