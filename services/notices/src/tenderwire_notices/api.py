"""HTTP entrypoints for agencies. Thin: validate, call a use case, shape the reply."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Request, status

from tenderwire_notices import repository
from tenderwire_notices.publishing import publish_notice
from tenderwire_notices.schemas import NoticeDraft, NoticeView
from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared import topics
from tenderwire_shared.http import correlation_id

router = APIRouter(prefix="/v1/notices", tags=["notices"])


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def get_settings(request: Request) -> NoticesSettings:
    settings: NoticesSettings = request.app.state.settings
    return settings


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
Settings = Annotated[NoticesSettings, Depends(get_settings)]
CorrelationId = Annotated[str, Depends(correlation_id)]


def _view(row: asyncpg.Record, settings: NoticesSettings) -> NoticeView:
    return NoticeView(
        id=row["id"],
        agency=row["agency"],
        reference=row["reference"],
        title=row["title"],
        description=row["description"],
        language=row["language"],
        notice_type=repository.notice_type(row),
        unspsc_codes=list(row["unspsc_codes"]),
        beneficiary_countries=list(row["beneficiary_countries"]),
        deadline=row["deadline"],
        deadline_local=repository.local_deadline(row),
        status=row["status"],
        revision=row["revision"],
        published_at=row["published_at"],
        url=f"{settings.public_base_url}/v1/notices/{row['id']}",
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def publish(
    draft: NoticeDraft, pool: Pool, settings: Settings, cid: CorrelationId
) -> NoticeView:
    try:
        snapshot = await publish_notice(
            pool,
            draft,
            tenders_topic=settings.topic(topics.TENDERS),
            public_base_url=settings.public_base_url,
            correlation_id=cid,
        )
    except repository.DuplicateReferenceError as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"agency {draft.agency!r} already published a notice with reference {exc}",
        ) from exc
    row = await repository.get(pool, snapshot.tender_id)
    assert row is not None
    return _view(row, settings)


@router.get("/{notice_id}")
async def get_notice(notice_id: str, pool: Pool, settings: Settings) -> NoticeView:
    row = await repository.get(pool, notice_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notice with id {notice_id!r}")
    return _view(row, settings)
