"""The notices service's use cases: the notice lifecycle, agencies and their API keys, and the
Idempotency-Key replay that makes a retried POST safe.

The lifecycle use cases take a connection and open no transaction: they run inside the caller's
(an HTTP request's, see `idempotent`; a Kafka command's inbox transaction; an OCDS release's)
and write the new state, its revision-history row and its outbox event together, or nothing.
`close_due` and `idempotent` own theirs. The rules themselves are in `domain`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from tenderwire_notices import repository
from tenderwire_notices.domain import (
    API_KEY_PREFIX,
    Action,
    AgencyError,
    IdempotencyKeyError,
    NoticeNotFoundError,
    amended,
    check_agency_code,
    check_award_date,
    check_deadline,
    check_idempotency_key,
    check_transition,
    hash_api_key,
    next_revision,
    notice_url,
    snapshot_from_draft,
)
from tenderwire_notices.schemas import Amendment, AwardDecision, NoticeDraft
from tenderwire_shared import topics
from tenderwire_shared.clock import Clock
from tenderwire_shared.db import Connection, unit_of_work
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.tenders import (
    TENDER_AMENDED,
    TENDER_AWARDED,
    TENDER_CANCELLED,
    TENDER_CLOSED,
    TENDER_PUBLISHED,
    FieldChange,
    TenderAmended,
    TenderAwarded,
    TenderCancelled,
    TenderClosed,
    TenderPublished,
    TenderSnapshot,
    TenderStatus,
)
from tenderwire_shared.outbox import add_to_outbox

# The CloudEvents `source` of every event the service announces.
SOURCE = "tenderwire/notices"


@dataclass(frozen=True)
class Context:
    """What every lifecycle use case needs besides the connection."""

    tenders_topic: str
    public_base_url: str
    clock: Clock
    correlation_id: str | None = None


def tender_event(
    event_type: str,
    tender: TenderSnapshot,
    data: BaseModel,
    *,
    time: datetime,
    correlation_id: str | None,
) -> Envelope[BaseModel]:
    """How a change of `tender` is announced on the tenders topic."""
    return Envelope[BaseModel](
        type=event_type,
        source=SOURCE,
        subject=tender.tender_id,
        time=time,
        dataschema=f"{topics.TENDERS}/{event_type}",
        correlationid=correlation_id,
        data=data,
    )


async def _record(
    conn: Connection,
    ctx: Context,
    tender: TenderSnapshot,
    event_type: str,
    data: BaseModel,
    *,
    reason: str | None = None,
    changes: tuple[FieldChange, ...] = (),
) -> None:
    occurred_at = ctx.clock.now()
    await repository.add_revision(
        conn,
        tender,
        event_type=event_type,
        occurred_at=occurred_at,
        reason=reason,
        changes=changes,
    )
    event = tender_event(
        event_type, tender, data, time=occurred_at, correlation_id=ctx.correlation_id
    )
    await add_to_outbox(conn, topic=ctx.tenders_topic, key=tender.tender_id, event=event)


# --- the notice lifecycle ---------------------------------------------------------------------


async def publish(
    conn: Connection,
    ctx: Context,
    agency: str,
    draft: NoticeDraft,
    *,
    ocid: str | None = None,
    published_at: datetime | None = None,
    allow_past_deadline: bool = False,
) -> TenderSnapshot:
    """A new notice. One whose deadline has passed (an import of an old release) is stored
    closed and announced as tender.closed, so nobody is alerted to a tender they cannot bid on.
    """
    now = ctx.clock.now()
    past = check_deadline(draft.deadline, now, allow_past=allow_past_deadline)
    tender_id = new_event_id()
    tender = snapshot_from_draft(
        draft,
        tender_id=tender_id,
        agency=agency,
        published_at=published_at or now,
        status=TenderStatus.CLOSED if past else TenderStatus.PUBLISHED,
        url=notice_url(ctx.public_base_url, tender_id),
        ocid=ocid,
    )
    await repository.insert(conn, tender)
    if past:
        await _record(conn, ctx, tender, TENDER_CLOSED, TenderClosed(tender=tender, closed_at=now))
    else:
        await _record(conn, ctx, tender, TENDER_PUBLISHED, TenderPublished(tender=tender))
    return tender


async def _locked(conn: Connection, ctx: Context, agency: str, notice_id: str) -> TenderSnapshot:
    row = await repository.lock(conn, notice_id, agency)
    if row is None:
        # Another agency's notice is reported exactly like a missing one.
        raise NoticeNotFoundError(f"no notice {notice_id!r} for agency {agency}")
    return repository.to_snapshot(row, ctx.public_base_url)


async def amend(
    conn: Connection, ctx: Context, agency: str, notice_id: str, amendment: Amendment
) -> TenderSnapshot:
    current = await _locked(conn, ctx, agency, notice_id)
    following, changes = amended(current, amendment.proposed(), ctx.clock.now())
    await repository.update(conn, following)
    data = TenderAmended(tender=following, reason=amendment.reason, changes=changes)
    await _record(
        conn, ctx, following, TENDER_AMENDED, data, reason=amendment.reason, changes=changes
    )
    return following


async def cancel(
    conn: Connection, ctx: Context, agency: str, notice_id: str, reason: str
) -> TenderSnapshot:
    current = await _locked(conn, ctx, agency, notice_id)
    check_transition(current.status, Action.CANCEL)
    cancelled = next_revision(current, TenderStatus.CANCELLED, cancellation_reason=reason)
    await repository.update(conn, cancelled)
    data = TenderCancelled(tender=cancelled, reason=reason)
    await _record(conn, ctx, cancelled, TENDER_CANCELLED, data, reason=reason)
    return cancelled


async def award(
    conn: Connection,
    ctx: Context,
    agency: str,
    notice_id: str,
    decision: AwardDecision,
    *,
    allow_before_publication: bool = False,
) -> TenderSnapshot:
    """Award a closed notice. An import may date an award before the notice's publication:
    an imported notice's publication is its release's date, often written years later."""
    current = await _locked(conn, ctx, agency, notice_id)
    check_transition(current.status, Action.AWARD)
    published_at = None if allow_before_publication else current.published_at
    check_award_date(decision.date, ctx.clock.now(), published_at)
    the_award = decision.to_award()
    awarded = next_revision(current, TenderStatus.AWARDED, award=the_award)
    await repository.update(conn, awarded)
    data = TenderAwarded(tender=awarded, award=the_award)
    await _record(conn, ctx, awarded, TENDER_AWARDED, data)
    return awarded


async def close(conn: Connection, ctx: Context, current: TenderSnapshot) -> TenderSnapshot:
    """The service's own transition, when the deadline passes. `current` must be locked."""
    check_transition(current.status, Action.CLOSE)
    closed = next_revision(current, TenderStatus.CLOSED)
    await repository.update(conn, closed)
    data = TenderClosed(tender=closed, closed_at=ctx.clock.now())
    await _record(conn, ctx, closed, TENDER_CLOSED, data)
    return closed


async def close_due(pool: asyncpg.Pool, ctx: Context, *, limit: int = 100) -> list[TenderSnapshot]:
    """Close up to `limit` open notices whose deadline has passed, in one transaction;
    replicas share the work (SKIP LOCKED)."""
    async with unit_of_work(pool) as conn:
        rows = await repository.due_for_closing(conn, ctx.clock.now(), limit)
        return [
            await close(conn, ctx, repository.to_snapshot(r, ctx.public_base_url)) for r in rows
        ]


# --- agencies and their API keys --------------------------------------------------------------
# Operator commands (`tw agencies ...`): each is a statement or two, on a pool or a connection.


async def create_agency(conn: repository.Executor, code: str, name: str) -> None:
    check_agency_code(code)
    await repository.insert_agency(conn, code, name)


async def issue_key(conn: repository.Executor, agency: str, label: str = "") -> str:
    """A new key for `agency`. Only its digest is stored: the key is shown this once."""
    if not await repository.agency_exists(conn, agency):
        raise AgencyError(f"no agency {agency}; create it first")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    await repository.insert_api_key(conn, new_event_id(), agency, hash_api_key(key), label)
    return key


async def revoke_keys(conn: repository.Executor, agency: str) -> int:
    return await repository.revoke_api_keys(conn, agency)


async def agency_for_key(conn: repository.Executor, key: str) -> str | None:
    """The agency an API key was issued to; None for an unknown or revoked one."""
    return await repository.agency_for_key_hash(conn, hash_api_key(key))


# --- the Idempotency-Key replay ---------------------------------------------------------------
# A POST retried with the same key gets the first answer back (and `replayed`), and causes
# nothing a second time; the same key on a different request is refused. Requests with the
# same key queue on an advisory lock, so a retry that races the original waits for it and
# then replays its answer.


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


Operation = Callable[[Connection], Awaitable[tuple[int, dict[str, Any]]]]


async def _replayed(conn: Connection, agency: str, key: str, request_hash: str) -> Answer | None:
    stored = await repository.stored_answer(conn, agency, key)
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise IdempotencyKeyError("this Idempotency-Key was already used for a different request")
    return Answer(stored.status_code, stored.body, replayed=True)


async def idempotent(
    pool: asyncpg.Pool, agency: str, key: str | None, request_hash: str, operation: Operation
) -> Answer:
    """Run `operation` in one transaction; with a key, remember its answer in the same one,
    or replay the answer remembered for it."""
    if key is not None:
        check_idempotency_key(key)
    async with unit_of_work(pool) as conn:
        if key is None:
            return Answer(*await operation(conn))
        await repository.lock_idempotency_key(conn, agency, key)
        stored = await _replayed(conn, agency, key, request_hash)
        if stored is not None:
            return stored
        answer = Answer(*await operation(conn))
        await repository.store_answer(
            conn, agency, key, request_hash, answer.status_code, answer.body
        )
        return answer


async def idempotent_in_steps(
    pool: asyncpg.Pool, agency: str, key: str | None, request_hash: str, operation: Operation
) -> Answer:
    """As `idempotent`, for an operation that makes transactions of its own on the connection
    (an OCDS import makes one per release): the key's lock is held on the session across them,
    so a retry sent while the first request still runs waits for it and gets its answer."""
    if key is None:
        async with pool.acquire() as conn:
            return Answer(*await operation(conn))
    check_idempotency_key(key)
    async with pool.acquire() as conn, repository.idempotency_key_held(conn, agency, key):
        stored = await _replayed(conn, agency, key, request_hash)
        if stored is not None:
            return stored
        answer = Answer(*await operation(conn))
        await repository.store_answer(
            conn, agency, key, request_hash, answer.status_code, answer.body
        )
    return answer
