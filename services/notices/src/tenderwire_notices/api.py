"""HTTP entrypoints for agencies. Thin: authenticate, validate, call a use case, shape the reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from tenderwire_notices import idempotency, lifecycle, repository
from tenderwire_notices.agencies import AGENCY_CODE
from tenderwire_notices.dependencies import (
    CurrentAgency,
    IdempotencyKey,
    LifecycleContext,
    NoticeId,
    Pool,
    Settings,
)
from tenderwire_notices.domain import NoticeNotFoundError
from tenderwire_notices.schemas import (
    Amendment,
    AwardDecision,
    Cancellation,
    Deadline,
    NoticeDraft,
    NoticePage,
    NoticeView,
)
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.countries import to_alpha3
from tenderwire_shared.db import Connection
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot, TenderStatus

router = APIRouter(prefix="/v1/notices", tags=["notices"])


UseCase = Callable[[Connection], Awaitable[TenderSnapshot]]


async def _idempotent(
    request: Request,
    pool: Pool,
    agency: str,
    key: str | None,
    body: Any,
    use_case: UseCase,
    *,
    success: int,
) -> Response:
    async def operation(conn: Connection) -> tuple[int, dict[str, Any]]:
        tender = await use_case(conn)
        return success, NoticeView.of(tender).model_dump(mode="json")

    request_hash = idempotency.fingerprint(request.method, request.url.path, body)
    try:
        outcome = await idempotency.run(pool, agency, key, request_hash, operation)
    except idempotency.IdempotencyKeyError as exc:
        raise idempotency.as_api_error(exc) from exc
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=NoticeView, summary="Publish a notice"
)
async def publish(
    draft: NoticeDraft,
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    return await _idempotent(
        request, pool, agency, key, draft.model_dump(mode="json"),
        lambda conn: lifecycle.publish(conn, ctx, agency, draft),
        success=status.HTTP_201_CREATED,
    )  # fmt: skip


@router.post("/{notice_id}/amendments", response_model=NoticeView, summary="Amend a notice")
async def amend(
    notice_id: NoticeId,
    amendment: Amendment,
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    return await _idempotent(
        request, pool, agency, key, amendment.model_dump(mode="json", exclude_unset=True),
        lambda conn: lifecycle.amend(conn, ctx, agency, notice_id, amendment),
        success=status.HTTP_200_OK,
    )  # fmt: skip


@router.post("/{notice_id}/cancellation", response_model=NoticeView, summary="Cancel a notice")
async def cancel(
    notice_id: NoticeId,
    cancellation: Cancellation,
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    return await _idempotent(
        request, pool, agency, key, cancellation.model_dump(mode="json"),
        lambda conn: lifecycle.cancel(conn, ctx, agency, notice_id, cancellation.reason),
        success=status.HTTP_200_OK,
    )  # fmt: skip


@router.post("/{notice_id}/award", response_model=NoticeView, summary="Award a closed notice")
async def award(
    notice_id: NoticeId,
    decision: AwardDecision,
    request: Request,
    pool: Pool,
    agency: CurrentAgency,
    ctx: LifecycleContext,
    key: IdempotencyKey = None,
) -> Response:
    return await _idempotent(
        request, pool, agency, key, decision.model_dump(mode="json"),
        lambda conn: lifecycle.award(conn, ctx, agency, notice_id, decision),
        success=status.HTTP_200_OK,
    )  # fmt: skip


@router.get("/{notice_id}", summary="A notice with its revision history")
async def get_notice(notice_id: NoticeId, pool: Pool, settings: Settings) -> NoticeView:
    row = await repository.get(pool, notice_id)
    if row is None:
        raise NoticeNotFoundError(f"no notice {notice_id!r}")
    tender = repository.to_snapshot(row, settings.public_base_url)
    return NoticeView.of(tender, revisions=await repository.revisions(pool, notice_id))


@router.get("", summary="Search notices, newest first")
async def search(
    pool: Pool,
    settings: Settings,
    agency: Annotated[
        str | None,
        Query(pattern=AGENCY_CODE, description="The agency's code, e.g. UNDP"),
    ] = None,
    status_: Annotated[TenderStatus | None, Query(alias="status")] = None,
    notice_type: NoticeType | None = None,
    unspsc: Annotated[
        str | None, Query(pattern=r"^[0-9]{2,8}$", description="A code or a prefix: 42, 4213, ...")
    ] = None,
    country: Annotated[str | None, Query(description="Beneficiary country, any ISO form")] = None,
    deadline_from: Annotated[
        Deadline | None, Query(description="From this moment on: ISO 8601 with a UTC offset")
    ] = None,
    deadline_to: Annotated[
        Deadline | None, Query(description="Before this moment: ISO 8601 with a UTC offset")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> NoticePage:
    try:
        after = repository.decode_cursor(cursor) if cursor else None
    except ValueError as exc:
        raise ApiError.one(422, ("query", "cursor"), str(exc)) from exc
    try:
        alpha3 = to_alpha3(country) if country else None
    except ValueError as exc:
        raise ApiError.one(422, ("query", "country"), str(exc)) from exc
    where = repository.SearchFilter(
        agency=agency,
        status=status_.value if status_ else None,
        notice_type=notice_type.value if notice_type else None,
        unspsc_prefix=unspsc,
        country=alpha3,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
    )
    rows = await repository.search(pool, where, limit=limit + 1, after=after)
    page = [repository.to_snapshot(r, settings.public_base_url) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = repository.encode_cursor(last.published_at, last.tender_id)
    return NoticePage(items=[NoticeView.of(t) for t in page], next_cursor=next_cursor)
