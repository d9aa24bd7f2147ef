"""All of matching's SQL: the supplier registry and its change log, the tenders as matching last
saw them, the matches made, and the matching lock; with the mapping of their rows to models.

Every function takes a connection: the caller owns the transaction, so a change, its change-log
row and its supplier event commit together (and a tender's matches with its inbox row).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic_core import to_json

from tenderwire_matching.domain.eligibility import classify
from tenderwire_matching.domain.matching import Alert, SupplierProfile, fold
from tenderwire_matching.schemas import (
    QuietWindow,
    SupplierRegistration,
    SupplierUpdate,
    SupplierView,
)
from tenderwire_shared.db import Connection
from tenderwire_shared.events.matches import Delivery, QuietHours, Recipient
from tenderwire_shared.events.tenders import TenderSnapshot, TenderStatus


class DuplicateSupplierError(Exception):
    """The registry's unique keys refused the row; `field` names the one that clashed."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class SupplierNotFoundError(Exception):
    pass


_MATCHING_LOCK = 0x7477_6D61


async def matching_lock(conn: Connection) -> None:
    """Serialise supplier changes with tender matching, for the rest of this transaction.

    Without it a supplier registering while a tender is matched could miss it both ways:
    the backfill not yet seeing the tender, the tender not yet seeing the supplier. And as
    every writer of the change log holds it, change-log sequence numbers commit in order,
    which `LiveIndex.catch_up` relies on.
    """
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _MATCHING_LOCK)


# The supplier registry.


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# The supplier's other verified e-mail contacts, which get its alerts too.
_ALSO_EMAIL = (
    "(SELECT COALESCE(array_agg(sc.address ORDER BY sc.address), '{}') FROM supplier_contacts sc"
    " WHERE sc.supplier_id = s.id AND sc.verified_at IS NOT NULL) AS also_email"
)

_SELECT = (
    "SELECT s.*, COALESCE(array_agg(c.code ORDER BY c.code) FILTER (WHERE c.code IS NOT NULL),"  # noqa: S608
    f" '{{}}') AS codes, {_ALSO_EMAIL}"
    " FROM suppliers s LEFT JOIN supplier_codes c ON c.supplier_id = s.id"
)


async def insert(
    conn: Connection,
    supplier_id: str,
    registration: SupplierRegistration,
    token: str,
    *,
    verified: bool,
) -> None:
    """`verified`: the contacts are taken as proven (an operator vouched for them); otherwise
    they wait for the supplier to open the link and type the code sent to them."""
    r = registration
    try:
        await conn.execute(
            "INSERT INTO suppliers (id, legal_name, country, email, phone, language, timezone,"
            " delivery, digest_hour, filter_countries, filter_agencies, filter_notice_types,"
            " keywords, token_hash, quiet_hours_start, quiet_hours_end, cpv_codes,"
            " paused_until, email_verified_at, phone_verified_at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,"
            " CASE WHEN $19 THEN now() END, CASE WHEN $19 AND $5::text IS NOT NULL THEN now() END)",
            supplier_id,
            r.legal_name,
            r.country,
            r.email,
            r.phone,
            r.language.value,
            r.timezone,
            r.delivery.value,
            r.digest_hour,
            r.beneficiary_countries or [],
            r.agencies or [],
            [t.value for t in r.notice_types or []],
            r.keywords or [],
            hash_token(token),
            r.quiet_hours.start if r.quiet_hours else None,
            r.quiet_hours.end if r.quiet_hours else None,
            r.cpv_codes or [],
            r.paused_until,
            verified,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "suppliers_email":
            raise DuplicateSupplierError(
                "a supplier with this e-mail is already registered", "email"
            ) from exc
        raise DuplicateSupplierError(
            "a supplier with this legal name and country is already registered", "legal_name"
        ) from exc
    await set_codes(conn, supplier_id, registration.unspsc_codes or [])


async def set_codes(conn: Connection, supplier_id: str, codes: list[str]) -> None:
    await conn.execute("DELETE FROM supplier_codes WHERE supplier_id = $1", supplier_id)
    await conn.executemany(
        "INSERT INTO supplier_codes (supplier_id, code) VALUES ($1, $2)",
        [(supplier_id, code) for code in codes],
    )


_UPDATABLE = {
    "email": "email",
    "phone": "phone",
    "language": "language",
    "timezone": "timezone",
    "delivery": "delivery",
    "digest_hour": "digest_hour",
    "beneficiary_countries": "filter_countries",
    "agencies": "filter_agencies",
    "notice_types": "filter_notice_types",
    "keywords": "keywords",
    "cpv_codes": "cpv_codes",
    "quiet_hours_start": "quiet_hours_start",
    "quiet_hours_end": "quiet_hours_end",
    "paused_until": "paused_until",
}


_FILTERS = {"beneficiary_countries", "agencies", "notice_types", "keywords", "cpv_codes"}


async def update(conn: Connection, supplier_id: str, change: SupplierUpdate) -> None:
    values: dict[str, Any] = change.model_dump(mode="json", exclude_unset=True)
    codes = values.pop("unspsc_codes", None)
    if "paused_until" in values:
        values["paused_until"] = change.paused_until  # a date for the driver, not its JSON
    if "quiet_hours" in values:
        quiet = change.quiet_hours
        values.pop("quiet_hours")
        values["quiet_hours_start"] = quiet.start if quiet else None
        values["quiet_hours_end"] = quiet.end if quiet else None
    # null clears: a filter becomes the empty list, the phone number goes.
    columns = [
        (_UPDATABLE[name], [] if value is None and name in _FILTERS else value)
        for name, value in values.items()
    ]
    assignments = ", ".join(f"{column} = ${i}" for i, (column, _) in enumerate(columns, start=2))
    # A new address or phone is unproven until its owner answers what is sent to it; the same
    # one written again stays as it was.
    if "email" in values:
        assignments += (
            f"{', ' if assignments else ''}email_verified_at = CASE WHEN lower(email)"
            f" = lower(${2 + [c for c, _ in columns].index('email')}) THEN email_verified_at END"
        )
    if "phone" in values:
        assignments += (
            f"{', ' if assignments else ''}phone_verified_at = CASE WHEN phone"
            f" IS NOT DISTINCT FROM ${2 + [c for c, _ in columns].index('phone')}"
            " THEN phone_verified_at END"
        )
    try:
        await conn.execute(
            f"UPDATE suppliers SET {assignments + ', ' if assignments else ''}"  # noqa: S608
            " version = version + 1, updated_at = now() WHERE id = $1",
            supplier_id,
            *[value for _, value in columns],
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateSupplierError(
            "another supplier is registered with this e-mail", "email"
        ) from exc
    if codes is not None:
        await set_codes(conn, supplier_id, codes)


async def deactivate(conn: Connection, supplier_id: str) -> None:
    await conn.execute(
        "UPDATE suppliers SET active = false, deactivated_at = now(), version = version + 1,"
        " updated_at = now() WHERE id = $1",
        supplier_id,
    )


async def log_change(conn: Connection, supplier_id: str) -> None:
    await conn.execute("INSERT INTO supplier_changes (supplier_id) VALUES ($1)", supplier_id)


async def row(conn: Connection | asyncpg.Pool, supplier_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_SELECT} WHERE s.id = $1 GROUP BY s.id", supplier_id)


async def rows(conn: Connection, supplier_ids: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"{_SELECT} WHERE s.id = ANY($1::text[]) GROUP BY s.id",
        supplier_ids,
    )


async def contact_rows(conn: Connection, supplier_ids: list[str]) -> list[asyncpg.Record]:
    """Only what `recipient` reads, and `active`: a tender's alerts read a thousand of these,
    and the codes' join and the filters cost more to fetch than the rest."""
    return await conn.fetch(
        "SELECT id, active, legal_name, country, email, phone, language, timezone, delivery,"  # noqa: S608
        " digest_hour, quiet_hours_start, quiet_hours_end, email_verified_at, phone_verified_at,"
        f" paused_until, {_ALSO_EMAIL}"
        " FROM suppliers s WHERE id = ANY($1::text[])",
        supplier_ids,
    )


async def all_active(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_SELECT} WHERE s.active GROUP BY s.id")


async def token_matches(conn: Connection | asyncpg.Pool, supplier_id: str, token: str) -> bool:
    """The registration's token, or any unrevoked one the supplier made in the portal."""
    hashed = hash_token(token)
    stored = await conn.fetchval(
        "SELECT token_hash FROM suppliers WHERE id = $1 AND active", supplier_id
    )
    if stored is None:
        return False
    if hmac.compare_digest(stored, hashed):
        return True
    # Looked up by its hash, which an index finds without leaking how much of it matched.
    used = await conn.fetchval(
        "UPDATE supplier_tokens SET last_used_at = now() WHERE token_hash = $1"
        " AND supplier_id = $2 AND revoked_at IS NULL RETURNING true",
        hashed,
        supplier_id,
    )
    return bool(used)


def view(r: asyncpg.Record) -> SupplierView:
    classification = classify(r["country"])
    return SupplierView(
        id=r["id"],
        legal_name=r["legal_name"],
        country=r["country"],
        economy_group=classification.group.value,
        least_developed=classification.least_developed,
        unspsc_codes=list(r["codes"]),
        cpv_codes=list(r["cpv_codes"]),
        email=r["email"],
        also_email=list(r.get("also_email") or ()),
        phone=r["phone"],
        language=r["language"],
        timezone=r["timezone"],
        delivery=Delivery(r["delivery"]),
        digest_hour=r["digest_hour"],
        quiet_hours=_quiet_hours(r),
        beneficiary_countries=list(r["filter_countries"]),
        agencies=list(r["filter_agencies"]),
        notice_types=list(r["filter_notice_types"]),
        keywords=list(r["keywords"]),
        active=r["active"],
        version=r["version"],
        email_verified=r["email_verified_at"] is not None,
        phone_verified=r["phone"] is not None and r["phone_verified_at"] is not None,
        paused_until=r["paused_until"],
    )


def recipient(r: asyncpg.Record) -> Recipient:
    return _recipient(
        r["id"],
        r["legal_name"],
        r["email"],
        r["language"],
        r["timezone"],
        r["phone"],
        r["delivery"],
        r["digest_hour"],
        r["quiet_hours_start"],
        r["quiet_hours_end"],
        r["country"],
        r["email_verified_at"] is not None,
        r["phone_verified_at"] is not None,
        tuple(r["also_email"]),
        r["paused_until"],
    )


# A tender's alerts make one Recipient per matched supplier, and most suppliers are matched
# again and again unchanged: built from the row's own values, a cached one is the same.
@functools.lru_cache(maxsize=65536)
def _recipient(
    supplier_id: str,
    legal_name: str,
    email: str,
    language: str,
    timezone: str,
    phone: str | None,
    delivery: str,
    digest_hour: int,
    quiet_hours_start: time | None,
    quiet_hours_end: time | None,
    country: str,
    email_verified: bool,
    phone_verified: bool,
    also_email: tuple[str, ...],
    paused_until: date | None,
) -> Recipient:
    quiet = (
        None
        if quiet_hours_start is None or quiet_hours_end is None
        else QuietHours(start=quiet_hours_start, end=quiet_hours_end)
    )
    return Recipient(
        supplier_id=supplier_id,
        legal_name=legal_name,
        email=email,
        language=language,
        timezone=timezone,
        phone=phone,
        delivery=Delivery(delivery),
        digest_hour=digest_hour,
        quiet_hours=quiet,
        least_developed=classify(country).least_developed,
        email_verified=email_verified,
        phone_verified=phone_verified,
        also_email=also_email,
        paused_until=_start_of(paused_until, timezone),
    )


def _start_of(day: date | None, timezone: str) -> datetime | None:
    """Midnight at the start of `day` in the supplier's zone: a pause "until the 12th" ends
    when the 12th begins where the supplier is."""
    if day is None:
        return None
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _quiet_hours(r: asyncpg.Record) -> QuietWindow | None:
    if r["quiet_hours_start"] is None or r["quiet_hours_end"] is None:
        return None
    return QuietWindow(start=r["quiet_hours_start"], end=r["quiet_hours_end"])


def profile(r: asyncpg.Record) -> SupplierProfile:
    return SupplierProfile(
        supplier_id=r["id"],
        codes=tuple(r["codes"]),
        cpv_codes=tuple(r["cpv_codes"]),
        beneficiary_countries=frozenset(r["filter_countries"]),
        agencies=frozenset(r["filter_agencies"]),
        notice_types=frozenset(r["filter_notice_types"]),
        keywords=tuple(fold(k) for k in r["keywords"]),
        least_developed=classify(r["country"]).least_developed,
    )


# The change log: every replica replays it to keep its index current (see live_index.py).


async def latest_change(conn: Connection) -> int:
    """The change log's last sequence number (0 when empty)."""
    seq: int = await conn.fetchval("SELECT COALESCE(max(seq), 0) FROM supplier_changes")
    return seq


async def changes_since(conn: Connection, seq: int) -> list[asyncpg.Record]:
    """The change log after `seq`, in order: (seq, supplier_id) rows."""
    return await conn.fetch(
        "SELECT seq, supplier_id FROM supplier_changes WHERE seq > $1 ORDER BY seq", seq
    )


# Tenders as matching last saw them.

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


# Matches: the table's unique key (supplier, tender, revision, kind) is what makes a replayed
# tender event alert nobody twice.


async def record_matches(
    conn: Connection, matches: Sequence[tuple[str, Alert]], tender: TenderSnapshot
) -> set[str]:
    """Insert the matches not made before; returns the ids of those that are new."""
    # Codes travel as JSON text: unnest cannot take a ragged two-dimensional array.
    rows = await conn.fetch(
        "INSERT INTO matches (id, supplier_id, tender_id, revision, kind, codes, still_matches)"
        " SELECT m.id, m.supplier_id, $5, $6, m.kind,"
        " ARRAY(SELECT jsonb_array_elements_text(m.codes::jsonb)), m.still_matches"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $7::boolean[])"
        " AS m(id, supplier_id, kind, codes, still_matches)"
        " ON CONFLICT DO NOTHING RETURNING id",
        [match_id for match_id, _ in matches],
        [alert.supplier_id for _, alert in matches],
        [alert.kind.value for _, alert in matches],
        [to_json(alert.matched_codes).decode() for _, alert in matches],
        tender.tender_id,
        tender.revision,
        [alert.still_matches for _, alert in matches],
    )
    return {r["id"] for r in rows}


async def alerted_suppliers(conn: Connection, tender_id: str) -> set[str]:
    """Suppliers told about this tender at any revision, and those following it: they hear
    about what happens next."""
    records = await conn.fetch(
        "SELECT supplier_id FROM matches WHERE tender_id = $1"
        " UNION SELECT supplier_id FROM tender_follows WHERE tender_id = $1",
        tender_id,
    )
    return {r["supplier_id"] for r in records}


async def tenders_alerted_to(conn: Connection, supplier_id: str) -> set[str]:
    """Tenders this supplier was told about at any revision."""
    records = await conn.fetch(
        "SELECT DISTINCT tender_id FROM matches WHERE supplier_id = $1", supplier_id
    )
    return {r["tender_id"] for r in records}


async def followers(conn: Connection, tender_id: str) -> set[str]:
    records = await conn.fetch(
        "SELECT supplier_id FROM tender_follows WHERE tender_id = $1", tender_id
    )
    return {r["supplier_id"] for r in records}


async def reactivate(conn: Connection, supplier_id: str) -> None:
    await conn.execute(
        "UPDATE suppliers SET active = true, deactivated_at = NULL, version = version + 1,"
        " updated_at = now() WHERE id = $1 AND erased_at IS NULL",
        supplier_id,
    )


ERASED = "erased"

# Each table of matching's that holds a supplier's contact details or credentials, and goes
# with the account. matches, supplier_codes and supplier_changes hold none: they stay, for
# the audit of who was told what.
_ERASED_WITH_THE_ACCOUNT = (
    "supplier_contacts",
    "supplier_tokens",
    "portal_links",
    "portal_sessions",
    "phone_codes",
    "tender_follows",
    "supplier_feeds",
)


async def erase(conn: Connection, supplier_id: str) -> asyncpg.Record | None:
    """Blank the supplier's contact details and drop what reached it; returns the addresses it
    had (for the rate limits keyed by them), or None when there is no such supplier."""
    before: asyncpg.Record | None = await conn.fetchrow(
        "SELECT email, phone, (SELECT COALESCE(array_agg(address), '{}') FROM supplier_contacts"
        " WHERE supplier_id = $1) AS contacts FROM suppliers WHERE id = $1 AND erased_at IS NULL"
        " FOR UPDATE",
        supplier_id,
    )
    if before is None:
        return None
    for table in _ERASED_WITH_THE_ACCOUNT:
        await conn.execute(f"DELETE FROM {table} WHERE supplier_id = $1", supplier_id)  # noqa: S608
    # Every event keyed by the supplier carries its contact details (the recipient); published
    # or not, none is needed again, and the relay must not send an unpublished one.
    await conn.execute("DELETE FROM outbox WHERE key = $1", supplier_id)
    await conn.execute(
        "UPDATE suppliers SET legal_name = $2, email = $2, phone = NULL, keywords = '{}',"
        " token_hash = $2, active = false, erased_at = now(),"
        " deactivated_at = COALESCE(deactivated_at, now()), email_verified_at = NULL,"
        " phone_verified_at = NULL, paused_until = NULL, version = version + 1,"
        " updated_at = now() WHERE id = $1",
        supplier_id,
        ERASED,
    )
    return before
