"""The portal's SQL: sessions, signed links, phone codes, rate-limit counters, further
contacts, API tokens and followed tenders; and the registry as the portal reads it."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from tenderwire_matching.repository import hash_token
from tenderwire_shared.db import Connection


async def start_session(
    conn: Connection | asyncpg.Pool, token: str, supplier_id: str, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO portal_sessions (token_hash, supplier_id, expires_at) VALUES ($1, $2, $3)",
        hash_token(token),
        supplier_id,
        expires_at,
    )


async def session(conn: Connection | asyncpg.Pool, token: str) -> asyncpg.Record | None:
    """The live session of this token with its supplier's language, or None (unknown, expired,
    or the supplier deactivated)."""
    return await conn.fetchrow(
        "SELECT p.supplier_id, s.language FROM portal_sessions p"
        " JOIN suppliers s ON s.id = p.supplier_id"
        " WHERE p.token_hash = $1 AND p.expires_at > now() AND s.active",
        hash_token(token),
    )


async def end_session(conn: Connection | asyncpg.Pool, token: str) -> None:
    await conn.execute("DELETE FROM portal_sessions WHERE token_hash = $1", hash_token(token))


async def end_sessions_of(conn: Connection | asyncpg.Pool, supplier_id: str) -> None:
    await conn.execute("DELETE FROM portal_sessions WHERE supplier_id = $1", supplier_id)


# Signed links: what each stands for, single use.


async def add_link(
    conn: Connection,
    id_hash: str,
    purpose: str,
    supplier_id: str,
    address: str,
    expires_at: datetime,
    contact_id: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO portal_links (id_hash, purpose, supplier_id, address, contact_id, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        id_hash,
        purpose,
        supplier_id,
        address,
        contact_id,
        expires_at,
    )


async def live_link(
    conn: Connection | asyncpg.Pool, id_hash: str, purpose: str
) -> asyncpg.Record | None:
    """The unused, unexpired link with this id, or None."""
    return await conn.fetchrow(
        "SELECT * FROM portal_links WHERE id_hash = $1 AND purpose = $2 AND used_at IS NULL"
        " AND expires_at > now()",
        id_hash,
        purpose,
    )


async def use_link(conn: Connection, id_hash: str, purpose: str) -> asyncpg.Record | None:
    """Marks the link used and returns it; None if it was used, expired or never was: of two
    clicks racing, one wins."""
    return await conn.fetchrow(
        "UPDATE portal_links SET used_at = now() WHERE id_hash = $1 AND purpose = $2"
        " AND used_at IS NULL AND expires_at > now() RETURNING *",
        id_hash,
        purpose,
    )


# Phone codes.


async def set_phone_code(
    conn: Connection, supplier_id: str, phone: str, code_hash: str, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO phone_codes (supplier_id, phone, code_hash, expires_at) VALUES ($1,$2,$3,$4)"
        " ON CONFLICT (supplier_id) DO UPDATE SET phone = EXCLUDED.phone,"
        " code_hash = EXCLUDED.code_hash, expires_at = EXCLUDED.expires_at, tries = 0",
        supplier_id,
        phone,
        code_hash,
        expires_at,
    )


async def try_phone_code(conn: Connection, supplier_id: str) -> asyncpg.Record | None:
    """Counts one try at the live code and returns it (with `tries` counted); None if none."""
    return await conn.fetchrow(
        "UPDATE phone_codes SET tries = tries + 1 WHERE supplier_id = $1 AND expires_at > now()"
        " RETURNING phone, code_hash, tries",
        supplier_id,
    )


async def drop_phone_code(conn: Connection, supplier_id: str) -> None:
    await conn.execute("DELETE FROM phone_codes WHERE supplier_id = $1", supplier_id)


async def has_phone_code(conn: Connection | asyncpg.Pool, supplier_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM phone_codes WHERE supplier_id = $1 AND expires_at > now()",
            supplier_id,
        )
    )


# Rate limits.


async def count(conn: Connection, key: str, window_start: datetime) -> int:
    """Counts one more in this key's window, and returns the window's count."""
    value: int = await conn.fetchval(
        "INSERT INTO portal_rate_limits (key, window_start, count) VALUES ($1, $2, 1)"
        " ON CONFLICT (key, window_start) DO UPDATE SET count = portal_rate_limits.count + 1"
        " RETURNING count",
        key,
        window_start,
    )
    return value


async def forget_counts(conn: Connection, keys: list[str]) -> None:
    await conn.execute("DELETE FROM portal_rate_limits WHERE key = ANY($1::text[])", keys)


async def drop_counts_before(conn: Connection, keys: list[str], start: datetime) -> None:
    """Drops these keys' counters of windows before `start`: only the current one counts."""
    await conn.execute(
        "DELETE FROM portal_rate_limits WHERE key = ANY($1::text[]) AND window_start < $2",
        keys,
        start,
    )


async def drop_old_counts(conn: Connection, before: datetime) -> None:
    await conn.execute("DELETE FROM portal_rate_limits WHERE window_start < $1", before)


# The registry as the portal reads it.


async def supplier_by_email(conn: Connection | asyncpg.Pool, email: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM suppliers WHERE lower(email) = lower($1) AND erased_at IS NULL", email
    )


async def supplier(conn: Connection | asyncpg.Pool, supplier_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM suppliers WHERE id = $1 AND erased_at IS NULL", supplier_id
    )


async def verify_email(conn: Connection, supplier_id: str, address: str) -> bool:
    """Marks the supplier's address verified if it is still `address`; True if it is (already
    verified too, which changes nothing, not even the version)."""
    done = await conn.fetchval(
        "WITH target AS (SELECT id, email_verified_at FROM suppliers WHERE id = $1"
        " AND lower(email) = lower($2) AND erased_at IS NULL FOR UPDATE),"
        " verified AS (UPDATE suppliers s SET email_verified_at = now(), version = s.version + 1,"
        " updated_at = now() FROM target t WHERE s.id = t.id AND t.email_verified_at IS NULL)"
        " SELECT EXISTS (SELECT 1 FROM target)",
        supplier_id,
        address,
    )
    return bool(done)


async def verify_phone(conn: Connection, supplier_id: str, phone: str) -> bool:
    done = await conn.fetchval(
        "UPDATE suppliers SET phone_verified_at = now(), version = version + 1,"
        " updated_at = now() WHERE id = $1 AND phone = $2 RETURNING true",
        supplier_id,
        phone,
    )
    return bool(done)


# Further e-mail contacts.


async def contacts(conn: Connection | asyncpg.Pool, supplier_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, address, verified_at FROM supplier_contacts WHERE supplier_id = $1"
        " ORDER BY created_at, id",
        supplier_id,
    )


async def add_contact(conn: Connection, contact_id: str, supplier_id: str, address: str) -> bool:
    """False when the supplier has this address already."""
    added = await conn.fetchval(
        "INSERT INTO supplier_contacts (id, supplier_id, address) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true",
        contact_id,
        supplier_id,
        address,
    )
    return bool(added)


async def verify_contact(conn: Connection, contact_id: str, supplier_id: str, address: str) -> bool:
    done = await conn.fetchval(
        "UPDATE supplier_contacts SET verified_at = COALESCE(verified_at, now())"
        " WHERE id = $1 AND supplier_id = $2 AND lower(address) = lower($3) RETURNING true",
        contact_id,
        supplier_id,
        address,
    )
    return bool(done)


async def remove_contact(conn: Connection, supplier_id: str, contact_id: str) -> bool:
    removed = await conn.fetchval(
        "DELETE FROM supplier_contacts WHERE id = $1 AND supplier_id = $2 RETURNING true",
        contact_id,
        supplier_id,
    )
    await conn.execute("DELETE FROM portal_links WHERE contact_id = $1", contact_id)
    return bool(removed)


# API tokens made in the portal.


async def tokens(conn: Connection | asyncpg.Pool, supplier_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, label, created_at, last_used_at, revoked_at FROM supplier_tokens"
        " WHERE supplier_id = $1 ORDER BY created_at DESC, id",
        supplier_id,
    )


async def add_token(
    conn: Connection | asyncpg.Pool, token_id: str, supplier_id: str, token: str, label: str
) -> None:
    await conn.execute(
        "INSERT INTO supplier_tokens (id, supplier_id, token_hash, label) VALUES ($1,$2,$3,$4)",
        token_id,
        supplier_id,
        hash_token(token),
        label,
    )


async def count_live_tokens(conn: Connection | asyncpg.Pool, supplier_id: str) -> int:
    value: int = await conn.fetchval(
        "SELECT count(*) FROM supplier_tokens WHERE supplier_id = $1 AND revoked_at IS NULL",
        supplier_id,
    )
    return value


async def revoke_token(conn: Connection | asyncpg.Pool, supplier_id: str, token_id: str) -> bool:
    done = await conn.fetchval(
        "UPDATE supplier_tokens SET revoked_at = now() WHERE id = $1 AND supplier_id = $2"
        " AND revoked_at IS NULL RETURNING true",
        token_id,
        supplier_id,
    )
    return bool(done)


# Following tenders.


async def tender(conn: Connection | asyncpg.Pool, tender_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT tender_id, status, snapshot->>'title' AS title FROM tenders WHERE tender_id = $1",
        tender_id,
    )


async def follow(conn: Connection | asyncpg.Pool, supplier_id: str, tender_id: str) -> None:
    await conn.execute(
        "INSERT INTO tender_follows (supplier_id, tender_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        supplier_id,
        tender_id,
    )


async def unfollow(conn: Connection | asyncpg.Pool, supplier_id: str, tender_id: str) -> None:
    await conn.execute(
        "DELETE FROM tender_follows WHERE supplier_id = $1 AND tender_id = $2",
        supplier_id,
        tender_id,
    )


async def follows(conn: Connection | asyncpg.Pool, supplier_id: str, tender_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM tender_follows WHERE supplier_id = $1 AND tender_id = $2",
            supplier_id,
            tender_id,
        )
    )
