"""All of notify's SQL: the delivery ledger (`deliveries`), the digests, the suppressions, the
deactivated suppliers and the workers' heartbeats. Nothing here decides anything: the rules are
in `domain`, the use cases in `services`. Every statement that writes the ledger touches many
rows at once; nothing loops over rows in SQL.

The SQL keeps the states' words as literals; where Python passes a state it is a
`domain.DeliveryState`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Literal

import asyncpg

from tenderwire_notify.domain import (
    ACCOUNT_KINDS,
    ACCOUNT_MESSAGE_EXPIRED,
    AHEAD_OF_A_REQUEUE,
    ALERT_KINDS,
    FINAL_RANK,
    SECRETS,
    SMS_RANKS,
    SUPPLIER_ERASED,
    UNSUBSCRIBED,
    DeliveryState,
    Inserted,
    NewDelivery,
    Outcome,
    Result,
)
from tenderwire_shared.db import Connection

Pool = asyncpg.Pool
Key = tuple[str, str, str]
"""(supplier, tender, channel): one sequence of alerts, which leave in revision order."""

# The delivery worker listens here; `pg_notify` on commit wakes it to new or requeued rows.
WAKE_CHANNEL = "deliveries_wake"

# Claims take this lock shared and a suppression takes it exclusively, so a claim either sees
# a suppression that has committed or finishes claiming before the suppression commits; the
# unsubscribe then waits for the rows that claim made 'sending'. See services.unsubscribe.
SUPPRESSION_GATE = 0x7477_7375

# One replica assembles digests at a time (a session advisory lock).
DIGEST_ASSEMBLY_LOCK = 0x7477_6467


def _count(status: str) -> int:
    """The row count of an asyncpg command status ("UPDATE 3")."""
    return int(status.rsplit(maxsplit=1)[-1])


async def wake(conn: Connection) -> None:
    await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)


# --- Deactivated suppliers -----------------------------------------------------------------


async def deactivated(conn: Connection, supplier_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT supplier_id FROM deactivated_suppliers WHERE supplier_id = ANY($1::text[])",
        list(set(supplier_ids)),
    )
    return {r["supplier_id"] for r in rows}


async def deactivate(conn: Connection, supplier_id: str) -> int:
    """Remember the supplier is gone; its unsent alerts are suppressed. Returns how many."""
    await conn.execute(
        "INSERT INTO deactivated_suppliers (supplier_id) VALUES ($1) ON CONFLICT DO NOTHING",
        supplier_id,
    )
    dropped = await conn.execute(
        "UPDATE deliveries SET state = 'suppressed', last_error = 'supplier deactivated',"
        " updated_at = now() WHERE supplier_id = $1 AND state IN ('queued', 'batched')",
        supplier_id,
    )
    return _count(dropped)


async def erased(conn: Connection, supplier_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT supplier_id FROM erased_suppliers WHERE supplier_id = ANY($1::text[])",
        list(set(supplier_ids)),
    )
    return {r["supplier_id"] for r in rows}


# Every contact detail the ledger and digests may hold of one supplier: the addresses it was
# sent to, and the recipient's contacts and name in each stored match or account message.
_CONTACTS_OF = """
SELECT DISTINCT v.kind, v.value FROM (
    SELECT 'address' AS kind, address AS value FROM deliveries WHERE supplier_id = $1
    UNION ALL SELECT 'address', address FROM digests WHERE supplier_id = $1
    UNION ALL SELECT 'address', match->'recipient'->>'email' FROM deliveries
        WHERE supplier_id = $1
    UNION ALL SELECT 'address', match->'recipient'->>'phone' FROM deliveries
        WHERE supplier_id = $1
    UNION ALL SELECT 'address', jsonb_array_elements_text(
        coalesce(match->'recipient'->'also_email', '[]'::jsonb)) FROM deliveries
        WHERE supplier_id = $1 AND jsonb_typeof(match->'recipient'->'also_email') = 'array'
    UNION ALL SELECT 'address', unnest(other_addresses) FROM deliveries WHERE supplier_id = $1
    UNION ALL SELECT 'address', match->>'address' FROM deliveries
        WHERE supplier_id = $1 AND kind = ANY($2::text[])
    UNION ALL SELECT 'name', recipient_name FROM deliveries WHERE supplier_id = $1
    UNION ALL SELECT 'name', match->'recipient'->>'legal_name' FROM deliveries
        WHERE supplier_id = $1
    UNION ALL SELECT 'name', match->>'legal_name' FROM deliveries
        WHERE supplier_id = $1 AND kind = ANY($2::text[])
) v WHERE v.value IS NOT NULL AND v.value <> ''
"""

ERASED = "[erased]"


def literal_pattern(values: Collection[str]) -> str:
    """A PostgreSQL regular expression matching any of `values` literally (ASCII punctuation
    escaped; a backslash before a letter would be an escape of its own)."""
    escaped = (
        re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", v) for v in sorted(values, key=len, reverse=True)
    )
    return "|".join(escaped)


async def erase_supplier(conn: Connection, supplier_id: str, erased_at: datetime) -> dict[str, int]:
    """Forget the supplier's contact details and send it nothing more (see
    `services.erase_supplier`); how many rows of each kind changed. In a transaction."""
    await conn.execute(
        "INSERT INTO erased_suppliers (supplier_id, erased_at) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        supplier_id,
        erased_at,
    )
    await conn.execute(
        "INSERT INTO deactivated_suppliers (supplier_id) VALUES ($1) ON CONFLICT DO NOTHING",
        supplier_id,
    )
    # Under the claim gate, as a suppression: a claim either sees these rows suppressed, or
    # claimed them before (and the worker sends what it already holds, once).
    await conn.execute("SELECT pg_advisory_xact_lock($1)", SUPPRESSION_GATE)
    waiting = _count(
        await conn.execute(
            "UPDATE deliveries SET state = 'suppressed', last_error = $2, updated_at = now()"
            " WHERE supplier_id = $1 AND state IN ('queued', 'batched')",
            supplier_id,
            SUPPLIER_ERASED,
        )
    )
    await conn.execute(
        "UPDATE digests SET state = 'failed', last_error = $2, updated_at = now()"
        " WHERE supplier_id = $1 AND state = 'queued'",
        supplier_id,
        SUPPLIER_ERASED,
    )
    contacts = await conn.fetch(_CONTACTS_OF, supplier_id, sorted(ACCOUNT_KINDS))
    addresses = sorted({r["value"].lower() for r in contacts if r["kind"] == "address"})
    pattern = literal_pattern({r["value"] for r in contacts})
    # A suppression another supplier's alerts still rely on (a shared address) stays: lifting
    # it would send them to an address that bounced or opted out.
    suppressions = _count(
        await conn.execute(
            "DELETE FROM suppressions s WHERE s.address = ANY($2::text[])"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.channel = s.channel"
            "  AND lower(d.address) = s.address AND d.supplier_id <> $1)",
            supplier_id,
            addresses,
        )
    )
    deliveries = _count(
        await conn.execute(
            "UPDATE deliveries SET address = '', recipient_name = NULL, sent_copies = '{}',"
            " other_addresses = '{}',"
            " updated_at = now(),"
            " last_error = CASE WHEN $3 = '' OR last_error IS NULL THEN last_error"
            "  ELSE regexp_replace(last_error, $3, $4, 'gi') END,"
            " match = CASE WHEN kind = ANY($2::text[])"
            "  THEN match - 'address' - 'legal_name' - 'link' - 'code'"
            "  WHEN jsonb_typeof(match->'recipient') = 'object'"
            "  THEN jsonb_set(match, '{recipient}', (match->'recipient')"
            "   || jsonb_build_object('email', '', 'phone', NULL, 'legal_name', '',"
            "   'also_email', '[]'::jsonb))"
            "  ELSE match END"
            " WHERE supplier_id = $1",
            supplier_id,
            sorted(ACCOUNT_KINDS),
            pattern,
            ERASED,
        )
    )
    digests = _count(
        await conn.execute(
            "UPDATE digests SET address = '', sent_copies = '{}', updated_at = now(),"
            " last_error = CASE WHEN $2 = '' OR last_error IS NULL THEN last_error"
            "  ELSE regexp_replace(last_error, $2, $3, 'gi') END"
            " WHERE supplier_id = $1",
            supplier_id,
            pattern,
            ERASED,
        )
    )
    return {
        "waiting_suppressed": waiting,
        "deliveries_erased": deliveries,
        "digests_erased": digests,
        "suppressions_erased": suppressions,
    }


async def withhold_waiting(
    conn: Connection, supplier_ids: Sequence[str], reasons: Sequence[str]
) -> int:
    """The suppliers' alerts still waiting (queued, or batched for a digest) are suppressed,
    each supplier's with its reason (a pause); how many."""
    done = await conn.execute(
        "UPDATE deliveries d SET state = 'suppressed', last_error = u.reason, updated_at = now()"
        " FROM unnest($1::text[], $2::text[]) AS u(supplier_id, reason)"
        " WHERE d.supplier_id = u.supplier_id AND d.state IN ('queued', 'batched')"
        " AND d.kind = ANY($3::text[])",
        list(supplier_ids),
        list(reasons),
        list(ALERT_KINDS),
    )
    return _count(done)


# --- The consumer's writes -----------------------------------------------------------------

_INSERT_COLUMNS = (
    "id",
    "supplier_id",
    "tender_id",
    "revision",
    "kind",
    "channel",
    "address",
    "language",
    "timezone",
    "match_json",
    "correlation_id",
    "state",
    "digest_hour",
    "next_attempt_at",
    "retry_since",
    "content_key",
    "recipient_name",
    "last_error",
    "expires_at",
)


def _insert_columns(rows: Sequence[NewDelivery]) -> list[list[object]]:
    columns: list[list[object]] = [[getattr(r, name) for r in rows] for name in _INSERT_COLUMNS]
    # As JSON: unnest() would flatten an array of arrays.
    columns.append([json.dumps(r.other_addresses) if r.other_addresses else None for r in rows])
    return columns


async def insert_deliveries(conn: Connection, rows: Sequence[NewDelivery]) -> list[Inserted]:
    """One statement for the whole batch. A row older than one already in the ledger for the
    same supplier, tender and channel is obsolete on arrival: it is kept, as 'superseded'."""
    if not rows:
        return []
    records = await conn.fetch(
        "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel, address,"
        " language, timezone, match, correlation_id, state, digest_hour, next_attempt_at,"
        " retry_since, content_key, recipient_name, last_error, expires_at, other_addresses)"
        " SELECT u.id, u.supplier_id, u.tender_id, u.revision, u.kind, u.channel, u.address,"
        "  u.language, u.timezone, u.match::jsonb, u.correlation_id,"
        "  CASE WHEN later.id IS NULL THEN u.state ELSE 'superseded' END,"
        "  u.digest_hour, u.next_attempt_at, u.retry_since, u.content_key, u.recipient_name,"
        "  CASE WHEN later.id IS NULL THEN u.last_error"
        "   ELSE 'obsolete on arrival: revision ' || later.revision || ' came first' END,"
        "  u.expires_at, CASE WHEN u.others IS NULL THEN '{}'::text[]"
        "   ELSE ARRAY(SELECT jsonb_array_elements_text(u.others::jsonb)) END"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[],"
        "  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],"
        "  $13::smallint[], $14::timestamptz[], $15::timestamptz[], $16::text[], $17::text[],"
        "  $18::text[], $19::timestamptz[], $20::text[])"
        "  AS u(id, supplier_id, tender_id, revision, kind, channel, address, language,"
        "   timezone, match, correlation_id, state, digest_hour, next_attempt_at, retry_since,"
        "   content_key, recipient_name, last_error, expires_at, others)"
        " LEFT JOIN LATERAL (SELECT d.id, d.revision FROM deliveries d"
        "  WHERE d.supplier_id = u.supplier_id AND d.tender_id = u.tender_id"
        "   AND d.channel = u.channel AND d.revision > u.revision"
        "  ORDER BY d.revision DESC LIMIT 1) later ON true"
        " ON CONFLICT DO NOTHING"
        " RETURNING id, supplier_id, tender_id, channel, state",
        *_insert_columns(rows),
    )
    return [
        Inserted(r["id"], r["supplier_id"], r["tender_id"], r["channel"], r["state"])
        for r in records
    ]


# --- Folding (see services.refold) ---------------------------------------------------------


def key_of(row: asyncpg.Record) -> Key:
    return (row["supplier_id"], row["tender_id"], row["channel"])


def _columns(keys: Collection[Key]) -> tuple[list[str], list[str], list[str]]:
    return [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]


async def waiting_sequences(conn: Connection, keys: Collection[Key]) -> list[asyncpg.Record]:
    """Per sequence: how many alerts wait unsent (`waiting`), and whether any is not a
    new-tender alert (`not_new`). Unlocked: a first, cheap look."""
    return await conn.fetch(
        "SELECT d.supplier_id, d.tender_id, d.channel, count(*) AS waiting,"
        " bool_or(d.kind <> 'new') AS not_new FROM deliveries d"
        " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(s, t, c)"
        "  ON d.supplier_id = k.s AND d.tender_id = k.t AND d.channel = k.c"
        " WHERE d.state IN ('queued', 'batched')"
        " GROUP BY d.supplier_id, d.tender_id, d.channel",
        *_columns(keys),
    )


async def lock_waiting(conn: Connection, keys: Collection[Key]) -> list[asyncpg.Record]:
    """The unsent alerts of these sequences, locked, oldest revision first."""
    return await conn.fetch(
        "SELECT d.id, d.supplier_id, d.tender_id, d.channel, d.revision, d.kind, d.language,"
        " d.timezone, d.match::text AS match FROM deliveries d"
        " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(s, t, c)"
        "  ON d.supplier_id = k.s AND d.tender_id = k.t AND d.channel = k.c"
        " WHERE d.state IN ('queued', 'batched')"
        " ORDER BY d.supplier_id, d.tender_id, d.channel, d.revision, d.created_at"
        " FOR UPDATE OF d",
        *_columns(keys),
    )


async def never_told(conn: Connection, keys: Collection[Key]) -> set[Key]:
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
        *_columns(keys),
    )
    return {key_of(r) for r in rows}


async def supersede(conn: Connection, ids: Sequence[str], *, by: str, revision: int) -> None:
    await conn.execute(
        "UPDATE deliveries SET state = 'superseded', superseded_by = $2, updated_at = now(),"
        " last_error = 'folded into revision ' || $3::int WHERE id = ANY($1::text[])",
        list(ids),
        by,
        revision,
    )


async def supersede_alone(conn: Connection, delivery_id: str, *, reason: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET state = 'superseded', updated_at = now(), last_error = $2"
        " WHERE id = $1",
        delivery_id,
        reason,
    )


async def replace_match(
    conn: Connection, delivery_id: str, *, match_json: str, content_key: str
) -> None:
    await conn.execute(
        "UPDATE deliveries SET match = $2::jsonb, content_key = $3, updated_at = now()"
        " WHERE id = $1",
        delivery_id,
        match_json,
        content_key,
    )


# --- The worker's claims -------------------------------------------------------------------

CLAIMED_COLUMNS = (
    "id, channel, address, language, timezone, attempts, retry_since, correlation_id,"
    " supplier_id, tender_id, content_key, recipient_name, state, revision, kind, expires_at"
)
_CLAIMED = ", ".join(f"d.{c.strip()}" for c in CLAIMED_COLUMNS.split(","))

# An alert's other verified e-mail contacts still to be sent it: not the row's own address,
# not one that took it on an earlier try, not a suppressed one.
_OTHER_CONTACTS = (
    "CASE WHEN cardinality(d.other_addresses) = 0 THEN '{}'::text[] ELSE ARRAY("
    " SELECT a FROM unnest(d.other_addresses) AS a"
    " WHERE NOT lower(a) = ANY(d.sent_copies)"
    " AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = 'email'"
    "  AND s.address = lower(a))) END AS also,"
    " lower(d.address) = ANY(d.sent_copies) AS own_address_sent"
)


async def claim_alerts(
    conn: Connection, *, worker: str, now: datetime, channels: Sequence[str], limit: int
) -> list[asyncpg.Record]:
    """Claim due alerts and account messages, oldest due first. A row is claimed only when no
    earlier revision of the same supplier, tender and channel is waiting or on its way, so
    they leave in order. A row to a suppressed address is claimed straight to 'suppressed'
    (an account message only when the suppression is not an unsubscribe: see
    `domain.account_message_refused_by`), an expired account message straight to 'failed'.
    Call inside a transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", SUPPRESSION_GATE)
    return await conn.fetch(
        "WITH picked AS ("  # noqa: S608 - constant SQL
        " SELECT c.id, EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = c.channel"
        "   AND s.address = lower(c.address)"
        "   AND (c.kind <> ALL($5::text[]) OR s.reason <> $6)) AS blocked,"
        "  coalesce(c.expires_at <= $2, false) AS expired"
        " FROM deliveries c WHERE c.state = 'queued' AND c.next_attempt_at <= $2"
        "  AND c.channel = ANY($4::text[])"
        "  AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.supplier_id = c.supplier_id"
        "   AND e.tender_id = c.tender_id AND e.channel = c.channel AND e.id <> c.id"
        "   AND (e.state = 'sending' OR (e.state = 'queued' AND e.revision < c.revision)))"
        "  ORDER BY c.next_attempt_at LIMIT $1 FOR UPDATE OF c SKIP LOCKED)"
        " UPDATE deliveries d SET attempts = d.attempts + 1, updated_at = now(),"
        "  claimed_by = CASE WHEN picked.blocked OR picked.expired THEN NULL ELSE $3 END,"
        "  state = CASE WHEN picked.expired THEN 'failed'"
        "   WHEN picked.blocked THEN 'suppressed' ELSE 'sending' END,"
        "  last_error = CASE WHEN picked.expired THEN $7"
        "   WHEN picked.blocked THEN 'bounced or unsubscribed' ELSE d.last_error END,"
        # An account message that will never go forgets its link or code (domain.SECRETS).
        "  match = CASE WHEN (picked.blocked OR picked.expired) AND d.kind = ANY($5::text[])"
        "   THEN d.match - $8::text[] ELSE d.match END"
        " FROM picked WHERE d.id = picked.id"
        f" RETURNING {_CLAIMED}, {_OTHER_CONTACTS}",
        limit,
        now,
        worker,
        list(channels),
        sorted(ACCOUNT_KINDS),
        UNSUBSCRIBED,
        ACCOUNT_MESSAGE_EXPIRED,
        list(SECRETS),
    )


async def matches_for(conn: Connection | Pool, ids: Sequence[str]) -> dict[str, str]:
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
        "  g.attempts, g.retry_since, picked.blocked,"
        # The newest entry's other verified contacts, as an alert's (see _OTHER_CONTACTS).
        "  ARRAY(SELECT a FROM unnest(coalesce((SELECT e.other_addresses FROM deliveries e"
        "    WHERE e.digest_id = g.id ORDER BY e.created_at DESC, e.id DESC LIMIT 1),"
        "    '{}'::text[])) AS a"
        "   WHERE lower(a) <> lower(g.address) AND NOT lower(a) = ANY(g.sent_copies)"
        "   AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = 'email'"
        "    AND s.address = lower(a))) AS also,"
        "  lower(g.address) = ANY(g.sent_copies) AS own_address_sent",
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


# --- The worker's results ------------------------------------------------------------------


async def record_results(conn: Connection, results: Sequence[Result]) -> None:
    """Write a batch of results in a few statements. Only a row still 'sending' changes: a
    status callback may already have moved it on. `services.record_results` refolds after."""
    alerts = [r for r in results if not r.digest]
    digests = [r for r in results if r.digest]
    await _record_copies(conn, "deliveries", [r for r in alerts if r.copies])
    await _record_copies(conn, "digests", [r for r in digests if r.copies])
    sent = [r for r in alerts if r.outcome == Outcome.SENT]
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
    await _back_in_queue(conn, "deliveries", waiting_again(alerts))
    failed = [r for r in alerts if r.outcome == Outcome.FAILED]
    if failed:
        await conn.execute(
            "UPDATE deliveries d SET state = 'failed', updated_at = now(), claimed_by = NULL,"  # noqa: S608 - built from constants
            f" last_error = {_unless_erased('d')}"
            " FROM unnest($1::text[], $2::text[]) AS u(id, error)"
            " WHERE d.id = u.id AND d.state = 'sending'",
            [r.job_id for r in failed],
            [r.error for r in failed],
        )
    finished = [
        r.job_id for r in alerts if r.account and r.outcome in (Outcome.SENT, Outcome.FAILED)
    ]
    if finished:
        # A link or code that has gone, or never will, is a credential no one needs to keep.
        await conn.execute(
            "UPDATE deliveries SET match = match - $2::text[] WHERE id = ANY($1::text[])",
            finished,
            list(SECRETS),
        )
    await _record_digests(conn, digests)
    bounced = [
        (r.job_id, r.channel, address, r.error or "hard bounce")
        for r in results
        for address in ((r.suppress_address,) if r.suppress_address else ()) + r.suppress_copies
    ]
    if bounced:
        await conn.execute(
            "INSERT INTO suppressions (channel, address, reason)"
            " SELECT u.channel, lower(u.address), u.reason"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
            "  AS u(job, channel, address, reason)"
            # An erased supplier's address is not kept again for a send that was in flight.
            " WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = u.job AND d.address = '')"
            " AND NOT EXISTS (SELECT 1 FROM digests g WHERE g.id = u.job AND g.address = '')"
            " ON CONFLICT DO NOTHING",
            [job for job, _, _, _ in bounced],
            [channel for _, channel, _, _ in bounced],
            [address for _, _, address, _ in bounced],
            [reason for _, _, _, reason in bounced],
        )


async def _record_copies(
    conn: Connection, table: Literal["deliveries", "digests"], results: Sequence[Result]
) -> None:
    """Remember which addresses took an alert or digest, so a retry sends only to the rest."""
    if not results:
        return
    pairs = [(r.job_id, address.lower()) for r in results for address in r.copies]
    await conn.execute(
        f"UPDATE {table} t SET sent_copies = t.sent_copies || c.addresses"  # noqa: S608 - two fixed tables
        " FROM (SELECT u.id, array_agg(u.address) AS addresses"
        "  FROM unnest($1::text[], $2::text[]) AS u(id, address) GROUP BY u.id) c"
        # An erased supplier's addresses are not kept again for a send that was in flight.
        " WHERE t.id = c.id AND t.address <> ''",
        [job_id for job_id, _ in pairs],
        [address for _, address in pairs],
    )


def waiting_again(results: Sequence[Result]) -> list[Result]:
    """The results that put their job back in the queue."""
    return [r for r in results if r.outcome in (Outcome.RETRY, Outcome.RELEASED)]


# The error a send reported, unless the supplier was erased while it was in flight: the error
# may quote the address (a relay's 550 often does), which must not be kept again.
def _unless_erased(row: str, error: str = "u.error") -> str:
    return f"CASE WHEN {row}.address = '' THEN '{SUPPLIER_ERASED}' ELSE {error} END"


_DIGEST_ENDS = ((Outcome.SENT, DeliveryState.SENT), (Outcome.FAILED, DeliveryState.FAILED))


async def _record_digests(conn: Connection, results: Sequence[Result]) -> None:
    for outcome, state in _DIGEST_ENDS:
        done = [r for r in results if r.outcome == outcome]
        if not done:
            continue
        await conn.execute(
            "UPDATE digests g SET state = $3, updated_at = now(), claimed_by = NULL,"  # noqa: S608 - built from constants
            f" last_error = {_unless_erased('g')}, provider_ref = u.ref,"
            " sent_at = CASE WHEN $3 = 'sent' THEN now() END"
            " FROM unnest($1::text[], $2::text[], $4::text[]) AS u(id, error, ref)"
            " WHERE g.id = u.id AND g.state = 'sending'",
            [r.job_id for r in done],
            [r.error for r in done],
            state,
            [r.provider_ref for r in done],
        )
        await conn.execute(
            "UPDATE deliveries d SET state = $3, updated_at = now(),"  # noqa: S608 - built from constants
            f" last_error = {_unless_erased('d')},"
            " sent_at = CASE WHEN $3 = 'sent' THEN now() END"
            " FROM unnest($1::text[], $2::text[]) AS u(id, error) WHERE d.digest_id = u.id",
            [r.job_id for r in done],
            [r.error for r in done],
            state,
        )
    await _back_in_queue(conn, "digests", waiting_again(results))


async def _back_in_queue(
    conn: Connection, table: Literal["deliveries", "digests"], waiting: Sequence[Result]
) -> None:
    """Alerts and digests both wait the same way for their next try; an erased supplier's
    alert goes no more (a digest fails at its next try, having no address)."""
    if not waiting:
        return
    state = (
        "CASE WHEN t.address = '' THEN 'suppressed' ELSE 'queued' END"
        if table == "deliveries"
        else "'queued'"
    )
    error = _unless_erased("t", "coalesce(u.error, t.last_error)")
    await conn.execute(
        f"UPDATE {table} t SET updated_at = now(), claimed_by = NULL, state = {state},"  # noqa: S608 - two fixed tables
        f" last_error = {error}, next_attempt_at = u.next,"
        " attempts = t.attempts - u.refund"
        " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[])"
        "  AS u(id, error, next, refund)"
        " WHERE t.id = u.id AND t.state = 'sending'",
        [r.job_id for r in waiting],
        [r.error for r in waiting],
        [r.next_attempt_at for r in waiting],
        [int(r.refund_attempt) for r in waiting],
    )


# --- The worker's sweeps -------------------------------------------------------------------


async def heartbeat(conn: Connection | Pool, worker: str) -> None:
    await conn.execute(
        "INSERT INTO delivery_workers (id) VALUES ($1)"
        " ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()",
        worker,
    )


async def requeue_abandoned(conn: Connection | Pool, *, worker: str, stale_s: float) -> int:
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
    return _count(alerts) + _count(digests)


async def give_up_past_horizon(
    conn: Connection | Pool, *, channel: str, now: datetime, horizon_s: float
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
    return _count(done)


async def give_up_expired(conn: Connection | Pool, *, now: datetime) -> list[str]:
    """Waiting account messages whose link or code has expired fail, unsent, even on a
    channel that was paused the whole time; their channels."""
    rows = await conn.fetch(
        "UPDATE deliveries SET state = 'failed', updated_at = now(), last_error = $2,"
        " match = match - $3::text[]"
        " WHERE state = 'queued' AND expires_at <= $1 RETURNING channel",
        now,
        ACCOUNT_MESSAGE_EXPIRED,
        list(SECRETS),
    )
    return [r["channel"] for r in rows]


# --- Digests -------------------------------------------------------------------------------


async def try_lock_digest_assembly(conn: Connection) -> bool:
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", DIGEST_ASSEMBLY_LOCK))


async def unlock_digest_assembly(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1)", DIGEST_ASSEMBLY_LOCK)


async def suppliers_with_batched_alerts(conn: Connection | Pool) -> list[asyncpg.Record]:
    """Each supplier with alerts waiting for a digest, with its newest address and settings."""
    return await conn.fetch(
        "SELECT DISTINCT ON (supplier_id) supplier_id, address, language, timezone,"
        " digest_hour FROM deliveries WHERE state = 'batched'"
        " ORDER BY supplier_id, created_at DESC"
    )


async def queue_digest(
    conn: Connection, *, digest_id: str, supplier: asyncpg.Record, day: date, now: datetime
) -> int | None:
    """Queue `day`'s digest for this supplier with every batched alert attached: how many;
    None if that day's digest exists already (the alerts then wait for the next). In a
    transaction."""
    created = await conn.fetchval(
        "INSERT INTO digests (id, supplier_id, local_date, address, language, timezone,"
        " state, next_attempt_at, retry_since) VALUES ($1, $2, $3, $4, $5, $6, 'queued',"
        " $7, $7) ON CONFLICT (supplier_id, local_date) DO NOTHING RETURNING id",
        digest_id,
        supplier["supplier_id"],
        day,
        supplier["address"],
        supplier["language"],
        supplier["timezone"],
        now,
    )
    if created is None:
        return None
    entries = await conn.execute(
        "UPDATE deliveries SET state = 'sending', digest_id = $1, updated_at = now()"
        " WHERE supplier_id = $2 AND state = 'batched'",
        digest_id,
        supplier["supplier_id"],
    )
    return _count(entries)


# --- Suppressions --------------------------------------------------------------------------


async def suppress(conn: Connection, channel: str, address: str, reason: str) -> None:
    """Add the address to the suppressions, under the exclusive side of the claim gate. In a
    transaction."""
    await suppress_addresses(conn, [(channel, address)], reason)


async def suppress_addresses(
    conn: Connection, pairs: Sequence[tuple[str, str]], reason: str
) -> None:
    """Add these (channel, address) pairs to the suppressions, in one statement, under the
    exclusive side of the claim gate. A pair already suppressed keeps its first reason, so a
    bounce stays a bounce. In a transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", SUPPRESSION_GATE)
    await conn.execute(
        "INSERT INTO suppressions (channel, address, reason)"
        " SELECT u.channel, lower(u.address), $3"
        " FROM unnest($1::text[], $2::text[]) AS u(channel, address)"
        " ON CONFLICT DO NOTHING",
        [channel for channel, _ in pairs],
        [address for _, address in pairs],
        reason,
    )


async def lift_suppressions(
    conn: Connection, pairs: Sequence[tuple[str, str]], reasons: Collection[str]
) -> list[tuple[str, str]]:
    """Remove the suppressions of these (channel, address) pairs that have one of `reasons`;
    the pairs lifted, as stored (lower case). Others, a bounce say, stay."""
    rows = await conn.fetch(
        "DELETE FROM suppressions s USING unnest($1::text[], $2::text[]) AS u(channel, address)"
        " WHERE s.channel = u.channel AND s.address = lower(u.address)"
        " AND s.reason = ANY($3::text[])"
        " RETURNING s.channel, s.address",
        [channel for channel, _ in pairs],
        [address for _, address in pairs],
        sorted(reasons),
    )
    return [(r["channel"], r["address"]) for r in rows]


async def still_suppressed(
    conn: Connection, pairs: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Which of these (channel, address) pairs are suppressed, for whatever reason."""
    rows = await conn.fetch(
        "SELECT s.channel, s.address FROM suppressions s"
        " JOIN unnest($1::text[], $2::text[]) AS u(channel, address)"
        " ON s.channel = u.channel AND s.address = lower(u.address)"
        " ORDER BY s.channel, s.address",
        [channel for channel, _ in pairs],
        [address for _, address in pairs],
    )
    return [(r["channel"], r["address"]) for r in rows]


async def supplier_addresses(conn: Connection, supplier_id: str) -> list[tuple[str, str]]:
    """Every (channel, address) the supplier's alerts went or go to, as the ledger holds them:
    each row's own address and its other e-mail contacts."""
    rows = await conn.fetch(
        # Alerts only: an account message may have gone to an address being verified.
        "SELECT DISTINCT channel, address FROM ("
        " SELECT channel, address FROM deliveries WHERE supplier_id = $1"
        "  AND kind = ANY($2::text[])"
        " UNION ALL SELECT 'email', unnest(other_addresses) FROM deliveries"
        "  WHERE supplier_id = $1 AND kind = ANY($2::text[])) a"
        " WHERE address <> '' ORDER BY channel, address",
        supplier_id,
        list(ALERT_KINDS),
    )
    return [(r["channel"], r["address"]) for r in rows]


async def newest_contacts(conn: Connection, supplier_id: str) -> tuple[str | None, str | None]:
    """The e-mail and phone the supplier's newest alert carries (its registration as matching
    last sent it); (None, None) when the ledger holds none."""
    row = await conn.fetchrow(
        "SELECT match->'recipient'->>'email' AS email, match->'recipient'->>'phone' AS phone"
        " FROM deliveries WHERE supplier_id = $1 AND kind = ANY($2::text[])"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        supplier_id,
        list(ALERT_KINDS),
    )
    if row is None:
        return None, None
    return row["email"], row["phone"]


async def latest_language(conn: Connection | Pool, channel: str, address: str) -> str | None:
    """The language of the newest alert to this address on this channel; None if none went."""
    language = await conn.fetchval(
        "SELECT language FROM deliveries WHERE channel = $1 AND lower(address) = lower($2)"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        channel,
        address,
    )
    return None if language is None else str(language)


async def sends_in_flight(conn: Connection | Pool, channel: str, address: str) -> int:
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


# --- Requeue -------------------------------------------------------------------------------

_MATCHING_FAILED = """
SELECT d.id, d.supplier_id, d.tender_id, d.channel, d.revision,
       ahead.revision AS ahead_revision, ahead.state AS ahead_state,
       EXISTS (SELECT 1 FROM suppressions s
               WHERE s.channel = d.channel AND s.address = lower(d.address)) AS suppressed
FROM deliveries d
LEFT JOIN LATERAL (
    SELECT l.revision, l.state FROM deliveries l
    WHERE l.supplier_id = d.supplier_id AND l.tender_id = d.tender_id
      AND l.channel = d.channel AND l.revision > d.revision AND l.state = ANY($6::text[])
    ORDER BY l.revision DESC LIMIT 1
) ahead ON true
WHERE d.state = 'failed' AND d.digest_id IS NULL
  AND ($1::text IS NULL OR d.tender_id = $1)
  AND ($2::text IS NULL OR d.supplier_id = $2)
  AND ($3::timestamptz IS NULL OR d.updated_at >= $3)
  AND ($4::timestamptz IS NULL OR d.updated_at < $4)
  AND ($5::text IS NULL OR d.channel = $5)
ORDER BY d.supplier_id, d.tender_id, d.channel, d.revision
"""

# Locked so that two operators requeuing at once cannot both count the same row: the second
# waits, then sees it is no longer 'failed'.
_LOCKING = " FOR UPDATE OF d"


async def failed_alerts(
    conn: Connection,
    *,
    tender_id: str | None,
    supplier_id: str | None,
    since: datetime | None,
    until: datetime | None,
    channel: str | None,
    lock: bool,
) -> list[asyncpg.Record]:
    """Failed alerts (not digest entries) matching every filter given, each with the latest
    later revision of its sequence that is ahead of it (`ahead_revision`, `ahead_state`), and
    whether its address is suppressed."""
    return await conn.fetch(
        _MATCHING_FAILED + _LOCKING if lock else _MATCHING_FAILED,
        tender_id,
        supplier_id,
        since,
        until,
        channel,
        list(AHEAD_OF_A_REQUEUE),
    )


async def requeue(conn: Connection, ids: Sequence[str]) -> None:
    """Back in the queue with a fresh horizon and attempt count; the last error stays. Wakes
    the worker on commit, so it never wakes to rows it cannot see yet."""
    await conn.execute(
        "UPDATE deliveries SET state = 'queued', attempts = 0, retry_since = now(),"
        " next_attempt_at = now(), updated_at = now(), claimed_by = NULL"
        " WHERE id = ANY($1::text[])",
        list(ids),
    )
    await wake(conn)


# --- SMS status callbacks ------------------------------------------------------------------

# The ranks of `domain.SMS_RANKS`, as SQL: the callback moves a row only up them.
SMS_RANK_SQL = (
    "CASE state "
    + " ".join(f"WHEN '{state.value}' THEN {rank}" for state, rank in SMS_RANKS.items())
    + f" ELSE {FINAL_RANK} END"
)
_APPLY_SMS_STATUS = (
    "UPDATE deliveries SET state = $2, updated_at = now(),"  # noqa: S608 - built from constants
    " sent_at = CASE WHEN $2 = 'failed' THEN sent_at ELSE coalesce(sent_at, now()) END,"
    " last_error = CASE WHEN $2 = 'failed' THEN $4 ELSE last_error END"
    f" WHERE id = $1 AND channel = 'sms' AND {SMS_RANK_SQL} < $3 RETURNING true"
)


async def apply_sms_status(
    pool: Connection | Pool, delivery_id: str, *, state: DeliveryState, rank: int, error: str
) -> bool:
    """Move the SMS delivery to `state` if it ranks below `rank`; True when it moved. One
    statement, atomic on its own."""
    return bool(await pool.fetchval(_APPLY_SMS_STATUS, delivery_id, state, rank, error))


# --- Operators' reads ----------------------------------------------------------------------


async def deliveries(
    pool: Connection | Pool, *, tender_id: str | None, supplier_id: str | None
) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM deliveries WHERE ($1::text IS NULL OR tender_id = $1)"
        " AND ($2::text IS NULL OR supplier_id = $2) ORDER BY created_at LIMIT 1000",
        tender_id,
        supplier_id,
    )


# --- The portal's reads (through matching, with the operators' token) ----------------------


async def supplier_alerts(
    pool: Connection | Pool, supplier_id: str, limit: int
) -> list[asyncpg.Record]:
    """The supplier's latest alerts (not account messages), newest first, each with its
    tender's title as the alert had it."""
    return await pool.fetch(
        "SELECT id, tender_id, revision, match->'tender'->>'title' AS tender_title, kind,"
        " channel, state, last_error, digest_id, created_at, sent_at FROM deliveries"
        " WHERE supplier_id = $1 AND kind = ANY($2::text[])"
        " ORDER BY created_at DESC, id DESC LIMIT $3",
        supplier_id,
        list(ALERT_KINDS),
        limit,
    )


async def suppressions_of(
    conn: Connection | Pool, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """{(channel, lower-case address): reason} for those of these pairs that are suppressed."""
    rows = await conn.fetch(
        "SELECT s.channel, s.address, s.reason FROM suppressions s"
        " JOIN unnest($1::text[], $2::text[]) AS u(channel, address)"
        " ON s.channel = u.channel AND s.address = lower(u.address)",
        [channel for channel, _ in pairs],
        [address for _, address in pairs],
    )
    return {(r["channel"], r["address"]): r["reason"] for r in rows}
