"""The delivery ledger's SQL: set-based writes for the consumer, claims and results for the
worker. Every statement here touches many rows at once; nothing loops over rows in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
import structlog

from tenderwire_notify import domain
from tenderwire_notify.requeue import WAKE_CHANNEL
from tenderwire_shared.db import Connection
from tenderwire_shared.events.matches import MatchCreated

log = structlog.get_logger()

# Claims take this lock shared and an unsubscribe takes it exclusively, so a claim either sees
# a suppression that has committed or finishes claiming before the suppression commits; the
# unsubscribe then waits for the rows that claim made 'sending'. See suppressions.py.
SUPPRESSION_GATE = 0x7477_7375

UNSENT = ("queued", "batched")


@dataclass(frozen=True)
class NewDelivery:
    id: str
    supplier_id: str
    tender_id: str
    revision: int
    kind: str
    channel: str
    address: str
    language: str
    timezone: str
    match_json: str
    correlation_id: str | None
    state: str
    digest_hour: int
    next_attempt_at: datetime
    retry_since: datetime
    content_key: str
    recipient_name: str


@dataclass(frozen=True)
class Inserted:
    id: str
    supplier_id: str
    tender_id: str
    channel: str
    state: str


async def deactivated(conn: Connection, supplier_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT supplier_id FROM deactivated_suppliers WHERE supplier_id = ANY($1::text[])",
        list(set(supplier_ids)),
    )
    return {r["supplier_id"] for r in rows}


async def insert_deliveries(conn: Connection, rows: Sequence[NewDelivery]) -> list[Inserted]:
    """One statement for the whole batch. A row older than one already in the ledger for the
    same supplier, tender and channel is obsolete on arrival: it is kept, as 'superseded'."""
    if not rows:
        return []
    columns = [[getattr(r, name) for r in rows] for name in _INSERT_COLUMNS]
    records = await conn.fetch(
        "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel, address,"
        " language, timezone, match, correlation_id, state, digest_hour, next_attempt_at,"
        " retry_since, content_key, recipient_name, last_error)"
        " SELECT u.id, u.supplier_id, u.tender_id, u.revision, u.kind, u.channel, u.address,"
        "  u.language, u.timezone, u.match::jsonb, u.correlation_id,"
        "  CASE WHEN later.id IS NULL THEN u.state ELSE 'superseded' END,"
        "  u.digest_hour, u.next_attempt_at, u.retry_since, u.content_key, u.recipient_name,"
        "  CASE WHEN later.id IS NULL THEN NULL"
        "   ELSE 'obsolete on arrival: revision ' || later.revision || ' came first' END"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[],"
        "  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],"
        "  $13::smallint[], $14::timestamptz[], $15::timestamptz[], $16::text[], $17::text[])"
        "  AS u(id, supplier_id, tender_id, revision, kind, channel, address, language,"
        "   timezone, match, correlation_id, state, digest_hour, next_attempt_at, retry_since,"
        "   content_key, recipient_name)"
        " LEFT JOIN LATERAL (SELECT d.id, d.revision FROM deliveries d"
        "  WHERE d.supplier_id = u.supplier_id AND d.tender_id = u.tender_id"
        "   AND d.channel = u.channel AND d.revision > u.revision"
        "  ORDER BY d.revision DESC LIMIT 1) later ON true"
        " ON CONFLICT DO NOTHING"
        " RETURNING id, supplier_id, tender_id, channel, state",
        *columns,
    )
    return [
        Inserted(r["id"], r["supplier_id"], r["tender_id"], r["channel"], r["state"])
        for r in records
    ]


_INSERT_COLUMNS = (
    "id", "supplier_id", "tender_id", "revision", "kind", "channel", "address", "language",
    "timezone", "match_json", "correlation_id", "state", "digest_hour", "next_attempt_at",
    "retry_since", "content_key", "recipient_name",
)  # fmt: skip


@dataclass(frozen=True)
class Folded:
    kept: str | None
    superseded: tuple[str, ...]
    key: tuple[str, str, str]


async def refold(conn: Connection, keys: Sequence[tuple[str, str, str]]) -> list[Folded]:
    """Where several alerts of one (supplier, tender, channel) wait unsent, fold them into the
    newest, by `domain.fold`. Rows a worker has claimed are left alone: they are on their way,
    and the newest waits for them (see `claim_alerts`)."""
    if not keys:
        return []
    suppliers, tenders, channels = (list(column) for column in zip(*set(keys), strict=True))
    groups = await conn.fetch(
        "SELECT d.supplier_id, d.tender_id, d.channel, count(*) AS waiting,"
        " bool_or(d.kind <> 'new') AS not_new FROM deliveries d"
        " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(s, t, c)"
        "  ON d.supplier_id = k.s AND d.tender_id = k.t AND d.channel = k.c"
        " WHERE d.state IN ('queued', 'batched')"
        " GROUP BY d.supplier_id, d.tender_id, d.channel",
        suppliers,
        tenders,
        channels,
    )
    # A lone amendment or cancellation may follow a new-tender alert that folded into nothing:
    # the supplier has still not been told of the tender, and the lone alert must fold too.
    # A first, unlocked look keeps the common case cheap (an amendment to suppliers already
    # told): a row on its way now can only come back through the recorder, which refolds.
    lone = [_key_of(r) for r in groups if r["waiting"] == 1 and r["not_new"]]
    maybe_never_told = await _never_told(conn, lone)
    candidates = [_key_of(r) for r in groups if r["waiting"] > 1]
    candidates += [key for key in lone if key in maybe_never_told]
    if not candidates:
        return []
    rows = await conn.fetch(
        "SELECT d.id, d.supplier_id, d.tender_id, d.channel, d.revision, d.kind, d.language,"
        " d.timezone, d.match::text AS match FROM deliveries d"
        " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(s, t, c)"
        "  ON d.supplier_id = k.s AND d.tender_id = k.t AND d.channel = k.c"
        " WHERE d.state IN ('queued', 'batched')"
        " ORDER BY d.supplier_id, d.tender_id, d.channel, d.revision, d.created_at"
        " FOR UPDATE OF d",
        [key[0] for key in candidates],
        [key[1] for key in candidates],
        [key[2] for key in candidates],
    )
    # Only now, with the waiting rows locked, is "never told" asked: a row a worker claimed
    # while this waited for the lock is on its way, and the supplier counts as told.
    never_told = await _never_told(conn, candidates)
    sequences: dict[tuple[str, str, str], list[asyncpg.Record]] = {}
    for row in rows:
        sequences.setdefault(_key_of(row), []).append(row)
    results = []
    for key, sequence in sequences.items():
        if len(sequence) == 1 and (key not in never_told or sequence[0]["kind"] == "new"):
            continue
        *earlier, newest = sequence
        folded = domain.fold(
            [MatchCreated.model_validate_json(r["match"]) for r in earlier],
            MatchCreated.model_validate_json(newest["match"]),
            never_told=key in never_told,
        )
        gone = [r["id"] for r in earlier]
        await conn.execute(
            "UPDATE deliveries SET state = 'superseded', superseded_by = $2, updated_at = now(),"
            " last_error = 'folded into revision ' || $3::int WHERE id = ANY($1::text[])",
            gone,
            newest["id"],
            newest["revision"],
        )
        if folded is None:
            await conn.execute(
                "UPDATE deliveries SET state = 'superseded', updated_at = now(), last_error = $2"
                " WHERE id = $1",
                newest["id"],
                _NOTHING_TO_SEND,
            )
            results.append(Folded(None, (*gone, newest["id"]), key))
            continue
        await conn.execute(
            "UPDATE deliveries SET match = $2::jsonb, content_key = $3, updated_at = now()"
            " WHERE id = $1",
            newest["id"],
            folded.model_dump_json(),
            domain.content_key(folded, language=newest["language"], timezone=newest["timezone"]),
        )
        results.append(Folded(newest["id"], tuple(gone), key))
    return results


def log_folds(folded: Sequence[Folded]) -> None:
    for fold in folded:
        log.info(
            "delivery_folded",
            supplier_id=fold.key[0],
            tender_id=fold.key[1],
            channel=fold.key[2],
            notification_id=fold.kept,
            superseded=list(fold.superseded),
        )


def _key_of(row: asyncpg.Record) -> tuple[str, str, str]:
    return (row["supplier_id"], row["tender_id"], row["channel"])


async def _never_told(
    conn: Connection, keys: Sequence[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    """Sequences that began with a new-tender alert of which nothing has left yet."""
    if not keys:
        return set()
    rows = await conn.fetch(
        "SELECT k.s AS supplier_id, k.t AS tender_id, k.c AS channel"
        " FROM unnest($1::text[], $2::text[], $3::text[]) AS k(s, t, c)"
        " WHERE EXISTS (SELECT 1 FROM deliveries n WHERE n.supplier_id = k.s"
        "  AND n.tender_id = k.t AND n.channel = k.c AND n.kind = 'new')"
        " AND NOT EXISTS (SELECT 1 FROM deliveries n WHERE n.supplier_id = k.s"
        "  AND n.tender_id = k.t AND n.channel = k.c"
        "  AND n.state IN ('sending', 'sent', 'delivered'))",
        [key[0] for key in keys],
        [key[1] for key in keys],
        [key[2] for key in keys],
    )
    return {_key_of(r) for r in rows}


_NOTHING_TO_SEND = (
    "nothing to send: the supplier was never told of the tender, and it was cancelled"
    " or no longer matches"
)


async def wake(conn: Connection) -> None:
    await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)


# --- The worker's side ---------------------------------------------------------------------

CLAIMED_COLUMNS = (
    "id, channel, address, language, timezone, attempts, retry_since, correlation_id,"
    " supplier_id, tender_id, content_key, recipient_name, state, revision"
)


async def claim_alerts(
    conn: Connection, *, worker: str, now: datetime, channels: Sequence[str], limit: int
) -> list[asyncpg.Record]:
    """Claim due alerts, oldest due first. A row is claimed only when no earlier revision of the
    same supplier, tender and channel is waiting or on its way, so they leave in order. A row
    to a suppressed address is claimed straight to 'suppressed'. Call inside a transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", SUPPRESSION_GATE)
    return await conn.fetch(
        "WITH picked AS ("  # noqa: S608 - constant SQL
        " SELECT c.id, EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = c.channel"
        "   AND s.address = lower(c.address)) AS blocked"
        " FROM deliveries c WHERE c.state = 'queued' AND c.next_attempt_at <= $2"
        "  AND c.channel = ANY($4::text[])"
        "  AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.supplier_id = c.supplier_id"
        "   AND e.tender_id = c.tender_id AND e.channel = c.channel AND e.id <> c.id"
        "   AND (e.state = 'sending' OR (e.state = 'queued' AND e.revision < c.revision)))"
        "  ORDER BY c.next_attempt_at LIMIT $1 FOR UPDATE OF c SKIP LOCKED)"
        " UPDATE deliveries d SET attempts = d.attempts + 1, updated_at = now(),"
        "  claimed_by = CASE WHEN picked.blocked THEN NULL ELSE $3 END,"
        "  state = CASE WHEN picked.blocked THEN 'suppressed' ELSE 'sending' END,"
        "  last_error = CASE WHEN picked.blocked THEN 'bounced or unsubscribed'"
        "   ELSE d.last_error END"
        " FROM picked WHERE d.id = picked.id"
        f" RETURNING {_CLAIMED}",
        limit,
        now,
        worker,
        list(channels),
    )


_CLAIMED = ", ".join(f"d.{c.strip()}" for c in CLAIMED_COLUMNS.split(","))


async def matches_for(conn: Connection | asyncpg.Pool, ids: Sequence[str]) -> dict[str, str]:
    """The match JSON of these rows: {delivery id: match JSON}."""
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT id, match::text AS match FROM deliveries WHERE id = ANY($1::text[])", list(ids)
    )
    return {r["id"]: r["match"] for r in rows}


async def claim_digests(
    conn: Connection, *, worker: str, now: datetime, limit: int
) -> tuple[list[asyncpg.Record], dict[str, list[str]]]:
    """Claim due digests, and the match JSON of each one's entries, oldest first. A digest to a
    suppressed address fails at once and its entries become 'suppressed'. In a transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", SUPPRESSION_GATE)
    claimed = await conn.fetch(
        "WITH picked AS ("
        " SELECT g.id, EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = 'email'"
        "   AND s.address = lower(g.address)) AS blocked"
        " FROM digests g WHERE g.state = 'queued' AND g.next_attempt_at <= $2"
        " ORDER BY g.next_attempt_at LIMIT $1 FOR UPDATE OF g SKIP LOCKED)"
        " UPDATE digests g SET attempts = g.attempts + 1, updated_at = now(),"
        "  claimed_by = CASE WHEN picked.blocked THEN NULL ELSE $3 END,"
        "  state = CASE WHEN picked.blocked THEN 'failed' ELSE 'sending' END,"
        "  last_error = CASE WHEN picked.blocked THEN 'bounced or unsubscribed'"
        "   ELSE g.last_error END"
        " FROM picked WHERE g.id = picked.id"
        " RETURNING g.id, g.supplier_id, g.local_date, g.address, g.language, g.timezone,"
        "  g.attempts, g.retry_since, picked.blocked",
        limit,
        now,
        worker,
    )
    blocked = [r["id"] for r in claimed if r["blocked"]]
    if blocked:
        await conn.execute(
            "UPDATE deliveries SET state = 'suppressed', last_error = 'bounced or unsubscribed',"
            " updated_at = now() WHERE digest_id = ANY($1::text[])",
            blocked,
        )
    sending = [r for r in claimed if not r["blocked"]]
    entries: dict[str, list[str]] = {r["id"]: [] for r in sending}
    if sending:
        for row in await conn.fetch(
            "SELECT digest_id, match::text AS match FROM deliveries"
            " WHERE digest_id = ANY($1::text[]) ORDER BY created_at, id",
            list(entries),
        ):
            entries[row["digest_id"]].append(row["match"])
    return sending, entries


@dataclass(frozen=True)
class Result:
    """What became of one claimed job; written in batches by `record_results`."""

    job_id: str
    digest: bool
    outcome: str  # sent | retry | failed | released
    channel: str
    key: tuple[str, str, str] | None = None  # (supplier, tender, channel) of an alert
    error: str | None = None
    provider_ref: str | None = None
    next_attempt_at: datetime | None = None
    refund_attempt: bool = False
    suppress_address: str | None = None


async def record_results(conn: Connection, results: Sequence[Result]) -> list[Folded]:
    """Write a batch of results in one transaction's few statements. Only a row still
    'sending' changes: a status callback may already have moved it on."""
    alerts = [r for r in results if not r.digest]
    digests = [r for r in results if r.digest]
    sent = [r for r in alerts if r.outcome == "sent"]
    if sent:
        await conn.execute(
            # A status callback may have got here first ('delivered', or 'failed' by the
            # provider): the state stays, but the send is still recorded.
            "UPDATE deliveries d SET updated_at = now(), claimed_by = NULL,"
            " state = CASE WHEN d.state = 'sending' THEN 'sent' ELSE d.state END,"
            " last_error = CASE WHEN d.state = 'sending' THEN NULL ELSE d.last_error END,"
            " sent_at = coalesce(d.sent_at, now()), provider_ref = u.ref"
            " FROM unnest($1::text[], $2::text[]) AS u(id, ref)"
            " WHERE d.id = u.id AND (d.state = 'sending'"
            "  OR (d.state IN ('delivered', 'failed') AND d.claimed_by IS NOT NULL))",
            [r.job_id for r in sent],
            [r.provider_ref for r in sent],
        )
    waiting = [r for r in alerts if r.outcome in ("retry", "released")]
    await _back_in_queue(conn, "deliveries", waiting)
    failed = [r for r in alerts if r.outcome == "failed"]
    if failed:
        await conn.execute(
            "UPDATE deliveries d SET state = 'failed', updated_at = now(), claimed_by = NULL,"
            " last_error = u.error FROM unnest($1::text[], $2::text[]) AS u(id, error)"
            " WHERE d.id = u.id AND d.state = 'sending'",
            [r.job_id for r in failed],
            [r.error for r in failed],
        )
    await _record_digests(conn, digests)
    bounced = [r for r in results if r.suppress_address]
    if bounced:
        await conn.execute(
            "INSERT INTO suppressions (channel, address, reason)"
            " SELECT u.channel, lower(u.address), u.reason"
            " FROM unnest($1::text[], $2::text[], $3::text[]) AS u(channel, address, reason)"
            " ON CONFLICT DO NOTHING",
            [r.channel for r in bounced],
            [r.suppress_address for r in bounced],
            [r.error or "hard bounce" for r in bounced],
        )
    # An alert back in the queue may now have a newer revision waiting behind it.
    return await refold(conn, [r.key for r in waiting if r.key is not None])


async def _record_digests(conn: Connection, results: Sequence[Result]) -> None:
    for outcome in ("sent", "failed"):
        done = [r for r in results if r.outcome == outcome]
        if not done:
            continue
        await conn.execute(
            "UPDATE digests g SET state = $3, updated_at = now(), claimed_by = NULL,"
            " last_error = u.error, provider_ref = u.ref,"
            " sent_at = CASE WHEN $3 = 'sent' THEN now() END"
            " FROM unnest($1::text[], $2::text[], $4::text[]) AS u(id, error, ref)"
            " WHERE g.id = u.id AND g.state = 'sending'",
            [r.job_id for r in done],
            [r.error for r in done],
            outcome,
            [r.provider_ref for r in done],
        )
        await conn.execute(
            "UPDATE deliveries d SET state = $3, updated_at = now(), last_error = u.error,"
            " sent_at = CASE WHEN $3 = 'sent' THEN now() END"
            " FROM unnest($1::text[], $2::text[]) AS u(id, error) WHERE d.digest_id = u.id",
            [r.job_id for r in done],
            [r.error for r in done],
            outcome,
        )
    await _back_in_queue(
        conn, "digests", [r for r in results if r.outcome in ("retry", "released")]
    )


async def _back_in_queue(
    conn: Connection, table: Literal["deliveries", "digests"], waiting: Sequence[Result]
) -> None:
    """Alerts and digests both wait the same way for their next try."""
    if not waiting:
        return
    await conn.execute(
        f"UPDATE {table} t SET state = 'queued', updated_at = now(), claimed_by = NULL,"  # noqa: S608 - two fixed tables
        " last_error = coalesce(u.error, t.last_error), next_attempt_at = u.next,"
        " attempts = t.attempts - u.refund"
        " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[])"
        "  AS u(id, error, next, refund)"
        " WHERE t.id = u.id AND t.state = 'sending'",
        [r.job_id for r in waiting],
        [r.error for r in waiting],
        [r.next_attempt_at for r in waiting],
        [int(r.refund_attempt) for r in waiting],
    )


async def heartbeat(conn: Connection | asyncpg.Pool, worker: str) -> None:
    await conn.execute(
        "INSERT INTO delivery_workers (id) VALUES ($1)"
        " ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
        worker,
    )


async def requeue_abandoned(conn: Connection | asyncpg.Pool, *, worker: str, stale_s: float) -> int:
    """Rows left 'sending' by a worker that stopped beating (it died) go back to the queue; they
    are sent again with the same Message-ID. A live worker's rows are never taken from it, even
    after a long database outage: it still knows what it sent."""
    alerts = await conn.execute(
        "UPDATE deliveries SET state = 'queued', claimed_by = NULL, updated_at = now()"
        " WHERE digest_id IS NULL AND state = 'sending'"
        " AND (claimed_by IS NULL OR claimed_by <> $1)"
        " AND updated_at < now() - make_interval(secs => $2)"
        " AND NOT EXISTS (SELECT 1 FROM delivery_workers w WHERE w.id = deliveries.claimed_by"
        "  AND w.heartbeat_at > now() - make_interval(secs => $2))",
        worker,
        stale_s,
    )
    digests = await conn.execute(
        "UPDATE digests SET state = 'queued', claimed_by = NULL, updated_at = now()"
        " WHERE state = 'sending' AND (claimed_by IS NULL OR claimed_by <> $1)"
        " AND updated_at < now() - make_interval(secs => $2)"
        " AND NOT EXISTS (SELECT 1 FROM delivery_workers w WHERE w.id = digests.claimed_by"
        "  AND w.heartbeat_at > now() - make_interval(secs => $2))",
        worker,
        stale_s,
    )
    await conn.execute("DELETE FROM delivery_workers WHERE heartbeat_at < now() - interval '1 day'")
    return int(alerts.split()[-1]) + int(digests.split()[-1])


async def give_up_past_horizon(
    conn: Connection | asyncpg.Pool, *, channel: str, now: datetime, horizon_s: float
) -> int:
    """Waiting alerts whose horizon has passed fail for good, even if the channel was paused
    the whole time and never tried them."""
    done = await conn.execute(
        "UPDATE deliveries SET state = 'failed', updated_at = now(),"
        " last_error = 'gave up: not sent within ' || $3::text || ' s'"
        "  || coalesce(' (last error: ' || last_error || ')', '')"
        " WHERE state = 'queued' AND channel = $1"
        " AND retry_since + make_interval(secs => $4) <= $2",
        channel,
        now,
        str(int(horizon_s)),
        horizon_s,
    )
    return int(done.split()[-1])


async def sends_in_flight(conn: Connection | asyncpg.Pool, channel: str, address: str) -> int:
    """Alerts and digests to this address that a worker has claimed and not yet recorded."""
    count = await conn.fetchval(
        "SELECT (SELECT count(*) FROM deliveries WHERE state = 'sending' AND digest_id IS NULL"
        "  AND channel = $1 AND lower(address) = lower($2))"
        " + (SELECT count(*) FROM digests WHERE state = 'sending' AND $1 = 'email'"
        "  AND lower(address) = lower($2))",
        channel,
        address,
    )
    return int(count or 0)
