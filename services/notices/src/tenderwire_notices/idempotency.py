"""Idempotency-Key: a retried POST gets the first answer and causes nothing a second time."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.db import Connection

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


class IdempotencyKeyError(Exception):
    """The key is malformed, or was already used for a different request."""


def as_api_error(exc: IdempotencyKeyError) -> ApiError:
    return ApiError.one(422, ("header", HEADER), str(exc))


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


Operation = Callable[[Connection], Awaitable[tuple[int, dict[str, Any]]]]


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def check_key(key: str) -> None:
    if not _KEY.match(key):
        raise IdempotencyKeyError("Idempotency-Key must be 1-200 printable ASCII characters")


async def recall(
    conn: Connection | asyncpg.Pool, agency: str, key: str, request_hash: str
) -> Outcome | None:
    """The stored answer for this key, if any; a different request under it is an error."""
    stored = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_keys"
        " WHERE agency = $1 AND key = $2",
        agency,
        key,
    )
    if stored is None:
        return None
    if stored["request_hash"] != request_hash:
        raise IdempotencyKeyError("this Idempotency-Key was already used for a different request")
    return Outcome(stored["status_code"], json.loads(stored["response"]), replayed=True)


async def remember(
    conn: Connection | asyncpg.Pool,
    agency: str,
    key: str,
    request_hash: str,
    outcome: Outcome,
) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (agency, key, request_hash, status_code, response)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        agency,
        key,
        request_hash,
        outcome.status_code,
        json.dumps(outcome.body, default=str),
    )


def _lock_key(agency: str, key: str) -> str:
    return f"{agency}\n{key}"


@asynccontextmanager
async def queued(conn: Connection, agency: str, key: str) -> AsyncIterator[None]:
    """Holds the key's lock on `conn` across many transactions (an OCDS import makes one per
    release), so a retry that races the original waits for it, then replays its answer.

    The same lock `run` takes for one transaction, so the two also queue on each other.
    """
    await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", _lock_key(agency, key))
    try:
        yield
    finally:
        # Released with the session too, and asyncpg unlocks all on returning a connection
        # to the pool: a request cancelled here leaves no lock behind.
        await conn.execute(
            "SELECT pg_advisory_unlock(hashtextextended($1, 0))", _lock_key(agency, key)
        )


async def run(
    pool: asyncpg.Pool, agency: str, key: str | None, request_hash: str, operation: Operation
) -> Outcome:
    """Run `operation` in one transaction; with a key, remember its answer in the same one.

    Requests with the same key queue on a transaction-scoped advisory lock, so a retry that
    races the original waits for it and then replays its answer.
    """
    if key is not None:
        check_key(key)
    async with pool.acquire() as conn, conn.transaction():
        if key is None:
            status_code, body = await operation(conn)
            return Outcome(status_code, body)
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", _lock_key(agency, key)
        )
        stored = await recall(conn, agency, key, request_hash)
        if stored is not None:
            return stored
        outcome = Outcome(*await operation(conn))
        await remember(conn, agency, key, request_hash, outcome)
        return outcome
