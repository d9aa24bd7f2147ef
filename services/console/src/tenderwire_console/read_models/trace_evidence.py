"""What each database holds about one tender: the rows `tw trace` lines up.

Every session is read-only; databases are named by service in errors, never by URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

# The tool only reads; the session setting makes any write an error, even against a primary.
_SESSION = {"default_transaction_read_only": "on", "application_name": "tw trace"}


@dataclass
class Evidence:
    """The rows each database holds about the tender."""

    notice: asyncpg.Record | None
    revisions: list[asyncpg.Record]
    tender_events: list[asyncpg.Record]
    seen_by_matching: asyncpg.Record | None
    matches: list[asyncpg.Record]
    match_events: list[asyncpg.Record]
    deliveries: list[asyncpg.Record]
    matching_inbox: dict[str, asyncpg.Record]
    notify_inbox: dict[str, asyncpg.Record]
    deactivated: set[str]


class DatabaseUnreachableError(Exception):
    """A service's database could not be reached, so nothing was traced."""


_CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


@asynccontextmanager
async def connected(**dsns: str) -> AsyncIterator[list[asyncpg.Connection[Any]]]:
    attempts = await asyncio.gather(
        *(asyncpg.connect(dsn, server_settings=_SESSION, timeout=10) for dsn in dsns.values()),
        return_exceptions=True,
    )
    connections = [c for c in attempts if isinstance(c, asyncpg.Connection)]
    try:
        for service, attempt in zip(dsns, attempts, strict=True):
            if isinstance(attempt, _CONNECT_ERRORS):
                # Named by service, never by URL: the URL may hold a password.
                raise DatabaseUnreachableError(
                    f"cannot reach the {service} database: {type(attempt).__name__}: {attempt}"
                ) from attempt
            if isinstance(attempt, BaseException):
                raise attempt
        yield connections
    finally:
        await asyncio.gather(*(c.close() for c in connections))


async def gather_evidence(
    notices: asyncpg.Connection[Any],
    matching: asyncpg.Connection[Any],
    notify: asyncpg.Connection[Any],
    tender_id: str,
) -> Evidence:
    (
        (notice, revisions, tender_events),
        (seen, matches, match_events),
        deliveries,
    ) = await asyncio.gather(
        _read_notices(notices, tender_id),
        _read_matching(matching, tender_id),
        _read_deliveries(notify, tender_id),
    )
    matching_inbox, (notify_inbox, deactivated) = await asyncio.gather(
        _inbox(matching, [e["event_id"] for e in tender_events]),
        _notify_followups(notify, match_events),
    )
    return Evidence(
        notice=notice,
        revisions=revisions,
        tender_events=tender_events,
        seen_by_matching=seen,
        matches=matches,
        match_events=match_events,
        deliveries=deliveries,
        matching_inbox=matching_inbox,
        notify_inbox=notify_inbox,
        deactivated=deactivated,
    )


# The event's JSON, parsed once per row of the (already narrowed) outbox.
_DOCUMENT = "CROSS JOIN LATERAL (SELECT convert_from(o.value, 'UTF8')::jsonb AS doc) AS v"
_OUTBOX_COLUMNS = (
    "o.event_id, o.event_type, o.topic, o.key, o.created_at, o.published_at,"
    " o.kafka_partition, o.kafka_offset, v.doc ->> 'correlationid' AS correlation_id"
)


async def _read_notices(
    conn: asyncpg.Connection[Any], tender_id: str
) -> tuple[asyncpg.Record | None, list[asyncpg.Record], list[asyncpg.Record]]:
    notice = await conn.fetchrow(
        "SELECT id, agency, title, status, revision FROM notices WHERE id = $1", tender_id
    )
    if notice is None:
        return None, [], []
    revisions = await conn.fetch(
        "SELECT revision, event_type, reason, changes, occurred_at FROM notice_revisions"
        " WHERE notice_id = $1 ORDER BY revision",
        tender_id,
    )
    # Tender events are keyed by tender id (indexed by migration 003_outbox_key_index).
    events = await conn.fetch(
        f"SELECT {_OUTBOX_COLUMNS}, (v.doc #>> '{{data,tender,revision}}')::int AS revision"  # noqa: S608
        f" FROM outbox AS o {_DOCUMENT} WHERE o.key = $1 ORDER BY o.position",
        tender_id,
    )
    return notice, revisions, events


async def _read_matching(
    conn: asyncpg.Connection[Any], tender_id: str
) -> tuple[asyncpg.Record | None, list[asyncpg.Record], list[asyncpg.Record]]:
    seen = await conn.fetchrow(
        "SELECT revision, status, updated_at FROM tenders WHERE tender_id = $1", tender_id
    )
    matches = await conn.fetch(
        "SELECT id, supplier_id, kind, revision, codes, still_matches, created_at FROM matches"
        " WHERE tender_id = $1 ORDER BY created_at, id",
        tender_id,
    )
    if not matches:
        return seen, [], []
    # Match events are keyed by supplier: narrow to the matched suppliers' events before
    # parsing any JSON, then keep those that carry one of this tender's match ids.
    events = await conn.fetch(
        "WITH candidates AS MATERIALIZED ("  # noqa: S608 - fixed SQL fragments only
        "  SELECT * FROM outbox WHERE key = ANY($1::text[]) AND event_type LIKE 'match.%')"
        f" SELECT {_OUTBOX_COLUMNS}, v.doc #>> '{{data,match_id}}' AS match_id,"
        " (v.doc #>> '{data,tender,revision}')::int AS revision"
        f" FROM candidates AS o {_DOCUMENT}"
        " WHERE v.doc #>> '{data,match_id}' = ANY($2::text[]) ORDER BY o.position",
        sorted({m["supplier_id"] for m in matches}),
        [m["id"] for m in matches],
    )
    return seen, matches, events


async def _read_deliveries(conn: asyncpg.Connection[Any], tender_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, supplier_id, revision, kind, channel, state, attempts, last_error, sent_at,"
        " created_at, updated_at, next_attempt_at, correlation_id,"
        " match ->> 'match_id' AS match_id"
        " FROM deliveries WHERE tender_id = $1 ORDER BY created_at, id",
        tender_id,
    )


async def _notify_followups(
    conn: asyncpg.Connection[Any], match_events: list[asyncpg.Record]
) -> tuple[dict[str, asyncpg.Record], set[str]]:
    """Which match events notify consumed, and which of their suppliers it knows have left."""
    inbox = await _inbox(conn, [e["event_id"] for e in match_events])
    gone = await conn.fetch(
        "SELECT supplier_id FROM deactivated_suppliers WHERE supplier_id = ANY($1::text[])",
        sorted({e["key"] for e in match_events}),
    )
    return inbox, {r["supplier_id"] for r in gone}


async def _inbox(conn: asyncpg.Connection[Any], event_ids: list[str]) -> dict[str, asyncpg.Record]:
    """Inbox rows for these events, by event id, whichever consumer wrote them.

    The inbox's key is (consumer, event_id): visiting each consumer in turn (a loose index
    scan) lets that index answer, where filtering on event_id alone reads the whole inbox.
    """
    if not event_ids:
        return {}
    rows = await conn.fetch(
        "WITH RECURSIVE consumers (name) AS ("
        "  SELECT min(consumer) FROM inbox"
        "  UNION ALL"
        "  SELECT (SELECT min(consumer) FROM inbox WHERE consumer > name)"
        "  FROM consumers WHERE name IS NOT NULL)"
        ' SELECT i.consumer, i.event_id, i.topic, i.partition, i."offset", i.handled_at'
        " FROM consumers JOIN inbox AS i"
        " ON i.consumer = consumers.name AND i.event_id = ANY($1::text[])"
        " ORDER BY i.handled_at",
        event_ids,
    )
    return {r["event_id"]: r for r in rows}
