"""All of the notices service's SQL: notices and their revisions, agencies and API keys,
Idempotency-Key answers, the OCDS import ledger, imported notices' buyers and OCDS feeds.

Every function takes a connection (or the pool, for a single statement), so the caller owns the
transaction.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from tenderwire_notices.domain import AgencyError, DuplicateReferenceError, notice_url
from tenderwire_notices.ocds.exporter import RevisionEntry
from tenderwire_notices.schemas import Revision
from tenderwire_shared.db import Connection
from tenderwire_shared.events.tenders import FieldChange, TenderSnapshot

# One statement needs no transaction: the pool runs it on a connection of its own.
Executor: TypeAlias = "Connection | asyncpg.Pool"

# --- notices and their revisions --------------------------------------------------------------

_COLUMNS = (
    "id, agency, reference, title, description, language, notice_type, unspsc_codes,"
    " beneficiary_countries, deadline, deadline_utc_offset_minutes, status, revision,"
    " published_at, documents, contacts, ocid, cancellation_reason, award, cpv_codes,"
    " classifications"
)


def _row_values(t: TenderSnapshot) -> tuple[Any, ...]:
    """The columns of `_COLUMNS`, in its order."""
    dumped = t.model_dump(mode="json")
    return (
        t.tender_id,
        t.agency,
        t.reference,
        t.title,
        t.description,
        t.language,
        t.notice_type.value,
        list(t.unspsc_codes),
        list(t.beneficiary_countries),
        t.deadline,
        t.deadline_utc_offset_minutes,
        t.status.value,
        t.revision,
        t.published_at,
        json.dumps(dumped["documents"]),
        json.dumps(dumped["contacts"]),
        t.ocid,
        t.cancellation_reason,
        json.dumps(dumped["award"]) if t.award else None,
        list(t.cpv_codes),
        json.dumps(dumped["classifications"]),
    )


def to_snapshot(row: asyncpg.Record, public_base_url: str) -> TenderSnapshot:
    data = dict(row)
    data["tender_id"] = data.pop("id")
    data["documents"] = json.loads(data["documents"])
    data["contacts"] = json.loads(data["contacts"])
    data["award"] = json.loads(data["award"]) if data["award"] else None
    data["classifications"] = json.loads(data["classifications"])
    data["url"] = notice_url(public_base_url, data["tender_id"])
    return TenderSnapshot.model_validate(data)


async def insert(conn: Connection, tender: TenderSnapshot) -> None:
    placeholders = ", ".join(f"${i}" for i in range(1, 22))
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


async def get(conn: Executor, notice_id: str) -> asyncpg.Record | None:
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


async def revisions(conn: Executor, notice_id: str) -> list[Revision]:
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


async def revision_history(conn: Executor, notice_id: str) -> list[RevisionEntry]:
    """Every revision with its full snapshot, oldest first (for OCDS export); [] for none."""
    rows = await conn.fetch(
        "SELECT revision, event_type, reason, snapshot, occurred_at FROM notice_revisions"
        " WHERE notice_id = $1 ORDER BY revision",
        notice_id,
    )
    return [
        RevisionEntry(
            revision=row["revision"],
            event_type=row["event_type"],
            reason=row["reason"],
            snapshot=TenderSnapshot.model_validate_json(row["snapshot"])
            if isinstance(row["snapshot"], str | bytes)
            else TenderSnapshot.model_validate(row["snapshot"]),
            occurred_at=row["occurred_at"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class SearchFilter:
    agency: str | None = None
    status: str | None = None
    notice_type: str | None = None
    unspsc_prefix: str | None = None
    country: str | None = None
    deadline_from: datetime | None = None
    deadline_to: datetime | None = None


async def search(
    conn: Executor,
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


# --- agencies and their API keys --------------------------------------------------------------


async def insert_agency(conn: Executor, code: str, name: str) -> None:
    try:
        await conn.execute("INSERT INTO agencies (code, name) VALUES ($1, $2)", code, name)
    except asyncpg.UniqueViolationError as exc:
        raise AgencyError(f"agency {code} already exists") from exc


async def agency_exists(conn: Executor, agency: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM agencies WHERE code = $1", agency))


async def agency_name(conn: Executor, agency: str) -> str | None:
    name: str | None = await conn.fetchval("SELECT name FROM agencies WHERE code = $1", agency)
    return name


async def insert_api_key(
    conn: Executor, key_id: str, agency: str, key_hash: str, label: str
) -> None:
    await conn.execute(
        "INSERT INTO api_keys (id, agency, key_hash, label) VALUES ($1, $2, $3, $4)",
        key_id,
        agency,
        key_hash,
        label,
    )


async def revoke_api_keys(conn: Executor, agency: str) -> int:
    result = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE agency = $1 AND revoked_at IS NULL", agency
    )
    return int(result.split()[-1])


async def agency_for_key_hash(conn: Executor, key_hash: str) -> str | None:
    agency: str | None = await conn.fetchval(
        "SELECT agency FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", key_hash
    )
    return agency


# --- Idempotency-Key answers ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    body: dict[str, Any]


def _lock_key(agency: str, key: str) -> str:
    return f"{agency}\n{key}"


async def lock_idempotency_key(conn: Connection, agency: str, key: str) -> None:
    """Until the transaction ends: a request with the same key waits for this one."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", _lock_key(agency, key)
    )


@asynccontextmanager
async def idempotency_key_held(conn: Connection, agency: str, key: str) -> AsyncIterator[None]:
    """The same lock as `lock_idempotency_key`, held on the session across many transactions
    (so the two also queue on each other)."""
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", _lock_key(agency, key))
    try:
        yield
    finally:
        # Released with the session too, and asyncpg unlocks all on returning a connection
        # to the pool: a request cancelled here leaves no lock behind.
        await conn.execute(
            "SELECT pg_advisory_unlock(hashtextextended($1, 0))", _lock_key(agency, key)
        )


async def stored_answer(conn: Executor, agency: str, key: str) -> StoredAnswer | None:
    stored = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_keys"
        " WHERE agency = $1 AND key = $2",
        agency,
        key,
    )
    if stored is None:
        return None
    return StoredAnswer(
        stored["request_hash"], stored["status_code"], json.loads(stored["response"])
    )


async def store_answer(
    conn: Executor,
    agency: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: dict[str, Any],
) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (agency, key, request_hash, status_code, response)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        agency,
        key,
        request_hash,
        status_code,
        json.dumps(body, default=str),
    )


# --- the OCDS import ledger -------------------------------------------------------------------
# A release (agency, ocid, release id) is claimed in the transaction that applies it.


@dataclass(frozen=True)
class ReleaseKey:
    agency: str
    ocid: str
    release_id: str


async def claim_release(conn: Connection, release: ReleaseKey) -> bool:
    """False when it is claimed already: imported before, or by an import running now (this
    waits for that one's transaction to end)."""
    claimed = await conn.fetchval(
        "INSERT INTO ocds_imports (agency, ocid, release_id, outcome)"
        " VALUES ($1, $2, $3, 'importing') ON CONFLICT DO NOTHING RETURNING true",
        release.agency,
        release.ocid,
        release.release_id,
    )
    return bool(claimed)


async def unclaim_release(conn: Connection, release: ReleaseKey) -> None:
    await conn.execute(
        "DELETE FROM ocds_imports WHERE agency = $1 AND ocid = $2 AND release_id = $3",
        release.agency,
        release.ocid,
        release.release_id,
    )


async def record_release(
    conn: Connection, release: ReleaseKey, outcome: str, notice_id: str | None
) -> None:
    await conn.execute(
        "UPDATE ocds_imports SET outcome = $4, notice_id = $5"
        " WHERE agency = $1 AND ocid = $2 AND release_id = $3",
        release.agency,
        release.ocid,
        release.release_id,
        outcome,
        notice_id,
    )


async def imported_release(conn: Connection, release: ReleaseKey) -> asyncpg.Record | None:
    """notice_id, outcome and imported_at of a release claimed before."""
    return await conn.fetchrow(
        "SELECT notice_id, outcome, imported_at FROM ocds_imports"
        " WHERE agency = $1 AND ocid = $2 AND release_id = $3",
        release.agency,
        release.ocid,
        release.release_id,
    )


# --- the buyer an imported notice's releases name ------------------------------------------


async def keep_buyer(
    conn: Connection,
    notice_id: str,
    party: dict[str, Any],
    *,
    release_id: str,
    release_date: datetime,
) -> bool:
    """Keep the buyer a release names for its notice, unless a later release (by date) named
    one already: the latest release wins, whatever order releases are imported in. A release
    of the same date replaces it (releases of a body are imported in date, then package,
    order). True when it was kept."""
    kept = await conn.fetchval(
        "INSERT INTO notice_buyers (notice_id, party, release_id, release_date)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (notice_id) DO UPDATE SET party = EXCLUDED.party,"
        " release_id = EXCLUDED.release_id, release_date = EXCLUDED.release_date,"
        " updated_at = now() WHERE notice_buyers.release_date <= EXCLUDED.release_date"
        " RETURNING true",
        notice_id,
        json.dumps(party),
        release_id,
        release_date,
    )
    return bool(kept)


async def notice_buyer(conn: Executor, notice_id: str) -> dict[str, Any] | None:
    """The buyer kept for an imported notice (OCDS Organization fields); None for none."""
    party = await conn.fetchval("SELECT party FROM notice_buyers WHERE notice_id = $1", notice_id)
    if party is None:
        return None
    found: dict[str, Any] = json.loads(party) if isinstance(party, str | bytes) else dict(party)
    return found


# --- OCDS feeds: where each agency's poller stopped -------------------------------------------

_FEED_COLUMNS = (
    "agency, url, resume_url, pages, releases, releases_imported, failures, last_error,"
    " last_fetch_at, last_success_at, next_try_at"
)


async def set_feed(conn: Executor, agency: str, url: str, now: datetime) -> None:
    """Point `agency`'s feed at `url`, due now. A new URL starts from its first page; the same
    URL again keeps where the poller stopped."""
    try:
        await conn.execute(
            "INSERT INTO ocds_feeds (agency, url, next_try_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (agency) DO UPDATE SET url = EXCLUDED.url, next_try_at = $3,"
            " updated_at = now(), failures = 0, last_error = NULL,"
            " resume_url = CASE WHEN ocds_feeds.url = EXCLUDED.url"
            "  THEN ocds_feeds.resume_url END",
            agency,
            url,
            now,
        )
    except asyncpg.ForeignKeyViolationError as exc:
        raise AgencyError(f"no agency {agency!r}") from exc


async def remove_feed(conn: Executor, agency: str) -> bool:
    removed = await conn.fetchval("DELETE FROM ocds_feeds WHERE agency = $1 RETURNING true", agency)
    return bool(removed)


async def feed(conn: Executor, agency: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_FEED_COLUMNS} FROM ocds_feeds WHERE agency = $1",  # noqa: S608 - constant SQL
        agency,
    )


async def feeds(conn: Executor) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_FEED_COLUMNS} FROM ocds_feeds ORDER BY agency"  # noqa: S608 - constant SQL
    )


async def due_feeds(conn: Executor, now: datetime, limit: int) -> list[str]:
    """Agencies whose feed is due at `now`, the longest waiting first."""
    rows = await conn.fetch(
        "SELECT agency FROM ocds_feeds WHERE next_try_at <= $1 ORDER BY next_try_at LIMIT $2",
        now,
        limit,
    )
    return [r["agency"] for r in rows]


def _feed_lock_key(agency: str) -> str:
    return f"tenderwire.ocds_feed:{agency}"


async def try_lock_feed(conn: Connection, agency: str) -> bool:
    """A session lock on the agency's feed, so one poller pulls it at a time across replicas.
    Held by `conn` until `unlock_feed` (or until the connection closes, as when a replica dies)."""
    return bool(
        await conn.fetchval(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", _feed_lock_key(agency)
        )
    )


async def unlock_feed(conn: Connection, agency: str) -> None:
    await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", _feed_lock_key(agency))


async def record_feed_page(
    conn: Executor,
    agency: str,
    *,
    resume_url: str,
    releases: int,
    imported: int,
    now: datetime,
    next_try_at: datetime,
) -> None:
    """A page was imported: the poller resumes at `resume_url`."""
    await conn.execute(
        "UPDATE ocds_feeds SET resume_url = $2, pages = pages + 1, releases = releases + $3,"
        " releases_imported = releases_imported + $4, failures = 0, last_error = NULL,"
        " last_fetch_at = $5, last_success_at = $5, next_try_at = $6, updated_at = now()"
        " WHERE agency = $1",
        agency,
        resume_url,
        releases,
        imported,
        now,
        next_try_at,
    )


async def record_feed_failure(
    conn: Executor, agency: str, *, error: str, now: datetime, backoff_s: float
) -> int:
    """A fetch failed: the poller stays on the same page and tries again after the backoff,
    which grows with the failures in a row. Returns them."""
    failures = await conn.fetchval(
        "UPDATE ocds_feeds SET failures = failures + 1, last_error = $2,"
        " last_fetch_at = $3::timestamptz,"
        " next_try_at = $3::timestamptz + make_interval(secs => $4::float8), updated_at = now()"
        " WHERE agency = $1 RETURNING failures",
        agency,
        error,
        now,
        backoff_s,
    )
    return int(failures or 0)
