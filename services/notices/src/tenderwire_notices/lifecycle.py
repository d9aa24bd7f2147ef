"""Use cases of the notice lifecycle. Each runs inside the caller's transaction and writes the
new state, its revision-history row and its outbox event together, or nothing at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel

from tenderwire_notices import repository
from tenderwire_notices.domain import (
    Action,
    InvalidNoticeError,
    NoticeNotFoundError,
    check_award_date,
    check_deadline,
    check_transition,
)
from tenderwire_notices.schemas import (
    Amendment,
    AwardDecision,
    NoticeContact,
    NoticeDocument,
    NoticeDraft,
)
from tenderwire_shared import topics
from tenderwire_shared.clock import Clock
from tenderwire_shared.db import Connection
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

SOURCE = "tenderwire/notices"


@dataclass(frozen=True)
class Context:
    """What every use case needs besides the connection."""

    tenders_topic: str
    public_base_url: str
    clock: Clock
    correlation_id: str | None = None


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
        conn, tender, event_type=event_type, occurred_at=occurred_at, reason=reason,
        changes=changes,
    )  # fmt: skip
    event = Envelope[BaseModel](
        type=event_type,
        source=SOURCE,
        subject=tender.tender_id,
        time=occurred_at,
        dataschema=f"{topics.TENDERS}/{event_type}",
        correlationid=ctx.correlation_id,
        data=data,
    )
    await add_to_outbox(conn, topic=ctx.tenders_topic, key=tender.tender_id, event=event)


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
    offset = draft.deadline.utcoffset()
    assert offset is not None  # AwareDatetime guarantees it
    tender_id = new_event_id()
    tender = TenderSnapshot(
        tender_id=tender_id,
        revision=1,
        status=TenderStatus.CLOSED if past else TenderStatus.PUBLISHED,
        agency=agency,
        reference=draft.reference,
        title=draft.title,
        description=draft.description,
        language=draft.language,
        notice_type=draft.notice_type,
        unspsc_codes=tuple(draft.unspsc_codes),
        beneficiary_countries=tuple(draft.beneficiary_countries),
        deadline=draft.deadline.astimezone(UTC),
        deadline_utc_offset_minutes=int(offset.total_seconds() // 60),
        published_at=published_at or now,
        documents=tuple(d.as_event() for d in draft.documents),
        contacts=tuple(c.as_event() for c in draft.contacts),
        url=AnyHttpUrl(f"{ctx.public_base_url}/v1/notices/{tender_id}"),
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


def _as_stored(value: Any) -> Any:
    """An amendment's value as the notice holds it."""
    if isinstance(value, list):
        return tuple(_as_stored(v) for v in value)
    if isinstance(value, NoticeDocument | NoticeContact):
        return value.as_event()
    return value


def _comparable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_comparable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


async def amend(
    conn: Connection, ctx: Context, agency: str, notice_id: str, amendment: Amendment
) -> TenderSnapshot:
    current = await _locked(conn, ctx, agency, notice_id)
    check_transition(current.status, Action.AMEND)
    requested = amendment.model_dump(exclude={"reason"}, exclude_unset=True)
    update: dict[str, Any] = {}
    changes: list[FieldChange] = []
    for field in requested:
        new = _as_stored(getattr(amendment, field))
        if field == "deadline":
            check_deadline(new, ctx.clock.now())
            offset = new.utcoffset()
            update["deadline_utc_offset_minutes"] = int(offset.total_seconds() // 60)
            new = new.astimezone(UTC)
        before = getattr(current, field)
        if _comparable(before) != _comparable(new):
            changes.append(
                FieldChange(field=field, before=_comparable(before), after=_comparable(new))
            )
            update[field] = new
    if not changes:
        raise InvalidNoticeError(None, "the amendment changes nothing")
    amended = current.model_copy(
        update={**update, "revision": current.revision + 1, "status": TenderStatus.AMENDED}
    )
    amended = TenderSnapshot.model_validate(amended.model_dump())
    await repository.update(conn, amended)
    await _record(
        conn, ctx, amended, TENDER_AMENDED,
        TenderAmended(tender=amended, reason=amendment.reason, changes=tuple(changes)),
        reason=amendment.reason, changes=tuple(changes),
    )  # fmt: skip
    return amended


async def _advance(
    conn: Connection, current: TenderSnapshot, status: TenderStatus, **changes: Any
) -> TenderSnapshot:
    """Store the next revision of `current`: every event raises the revision by one."""
    following = current.model_copy(
        update={**changes, "revision": current.revision + 1, "status": status}
    )
    await repository.update(conn, following)
    return following


async def cancel(
    conn: Connection, ctx: Context, agency: str, notice_id: str, reason: str
) -> TenderSnapshot:
    current = await _locked(conn, ctx, agency, notice_id)
    check_transition(current.status, Action.CANCEL)
    cancelled = await _advance(conn, current, TenderStatus.CANCELLED, cancellation_reason=reason)
    await _record(
        conn, ctx, cancelled, TENDER_CANCELLED, TenderCancelled(tender=cancelled, reason=reason),
        reason=reason,
    )  # fmt: skip
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
    awarded = await _advance(conn, current, TenderStatus.AWARDED, award=the_award)
    await _record(
        conn, ctx, awarded, TENDER_AWARDED, TenderAwarded(tender=awarded, award=the_award)
    )
    return awarded


async def close(conn: Connection, ctx: Context, current: TenderSnapshot) -> TenderSnapshot:
    """The service's own transition, when the deadline passes. `current` must be locked."""
    check_transition(current.status, Action.CLOSE)
    closed = await _advance(conn, current, TenderStatus.CLOSED)
    await _record(
        conn, ctx, closed, TENDER_CLOSED, TenderClosed(tender=closed, closed_at=ctx.clock.now())
    )
    return closed


async def close_due(conn: Connection, ctx: Context, *, limit: int = 100) -> list[TenderSnapshot]:
    """Close open notices whose deadline has passed; replicas share the work (SKIP LOCKED)."""
    rows = await repository.due_for_closing(conn, ctx.clock.now(), limit)
    return [await close(conn, ctx, repository.to_snapshot(r, ctx.public_base_url)) for r in rows]
