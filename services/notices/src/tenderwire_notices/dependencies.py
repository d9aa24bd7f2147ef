"""FastAPI dependencies of the notices routes; the pool and the clock are every service's
(`tenderwire_shared.dependencies`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials

from tenderwire_notices import services
from tenderwire_notices.domain import IDEMPOTENCY_KEY, NOTICE_ID
from tenderwire_notices.services import Context
from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared import topics
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.dependencies import AppClock, Pool
from tenderwire_shared.http import correlation_id
from tenderwire_shared.openapi import bearer_scheme


def get_settings(request: Request) -> NoticesSettings:
    settings: NoticesSettings = request.app.state.settings
    return settings


Settings = Annotated[NoticesSettings, Depends(get_settings)]
CorrelationId = Annotated[str, Depends(correlation_id)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY,
        description="Retry with the same key to get the first answer and no second effect",
    ),
]
# Checked before it reaches SQL: a NUL byte in a path would otherwise make PostgreSQL fail.
NoticeId = Annotated[str, Path(pattern=NOTICE_ID, description="The notice's id")]


agency_api_key = bearer_scheme(
    "AgencyApiKey",
    "The agency's API key (`tw agencies issue-key`)",
    {401: "No API key, or an unknown or revoked one"},
)


async def current_agency(
    pool: Pool,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(agency_api_key)],
) -> str:
    """The agency whose API key came in `Authorization: Bearer <key>`."""
    if credentials is None or not credentials.credentials.strip():
        raise _unauthorized("send the agency's API key as 'Authorization: Bearer <key>'")
    agency = await services.agency_for_key(pool, credentials.credentials.strip())
    if agency is None:
        raise _unauthorized("unknown or revoked API key")
    return agency


def _unauthorized(message: str) -> ApiError:
    return ApiError.one(
        401, ("header", "Authorization"), message, "unauthorized", {"WWW-Authenticate": "Bearer"}
    )


CurrentAgency = Annotated[str, Depends(current_agency)]


def lifecycle_context(settings: Settings, clock: AppClock, cid: CorrelationId) -> Context:
    return Context(
        tenders_topic=settings.topic(topics.TENDERS),
        public_base_url=settings.public_base_url,
        clock=clock,
        correlation_id=cid,
    )


LifecycleContext = Annotated[Context, Depends(lifecycle_context)]
