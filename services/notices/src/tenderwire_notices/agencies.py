"""Agencies and their API keys: created by an operator, presented by agency systems."""

from __future__ import annotations

import hashlib
import re
import secrets

import asyncpg

from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import new_event_id

KEY_PREFIX = "twk_"
AGENCY_CODE = r"^[A-Z][A-Z0-9-]{1,19}$"
_CODE = re.compile(AGENCY_CODE)


class AgencyError(Exception):
    pass


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_agency(conn: Connection | asyncpg.Pool, code: str, name: str) -> None:
    if not _CODE.match(code):
        raise AgencyError(f"agency code {code!r} must be 2-20 capital letters, digits or '-'")
    try:
        await conn.execute("INSERT INTO agencies (code, name) VALUES ($1, $2)", code, name)
    except asyncpg.UniqueViolationError as exc:
        raise AgencyError(f"agency {code} already exists") from exc


async def issue_key(conn: Connection | asyncpg.Pool, agency: str, label: str = "") -> str:
    """A new key for `agency`. Only its digest is stored: the key is shown this once."""
    if await conn.fetchval("SELECT 1 FROM agencies WHERE code = $1", agency) is None:
        raise AgencyError(f"no agency {agency}; create it first")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_keys (id, agency, key_hash, label) VALUES ($1, $2, $3, $4)",
        new_event_id(),
        agency,
        hash_key(key),
        label,
    )
    return key


async def revoke_keys(conn: Connection | asyncpg.Pool, agency: str) -> int:
    result = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE agency = $1 AND revoked_at IS NULL", agency
    )
    return int(result.split()[-1])


async def agency_for_key(conn: Connection | asyncpg.Pool, key: str) -> str | None:
    agency: str | None = await conn.fetchval(
        "SELECT agency FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", hash_key(key)
    )
    return agency


async def exists(conn: Connection | asyncpg.Pool, agency: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM agencies WHERE code = $1", agency))


async def name_of(conn: Connection | asyncpg.Pool, agency: str) -> str | None:
    name: str | None = await conn.fetchval("SELECT name FROM agencies WHERE code = $1", agency)
    return name
