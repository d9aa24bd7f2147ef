"""HTTP entrypoints: delivery status for operators, behind the operators' token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, SecretStr

from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.operators import require_operator


def _operator_token(request: Request) -> SecretStr | None:
    token: SecretStr | None = request.app.state.operator_token
    return token


router = APIRouter(
    prefix="/v1/deliveries",
    tags=["deliveries"],
    dependencies=[Depends(require_operator(_operator_token))],
)


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]


class DeliveryView(BaseModel):
    id: str
    supplier_id: str
    tender_id: str
    revision: int
    kind: str
    channel: str
    state: str
    attempts: int
    last_error: str | None
    provider_ref: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


# Tender and supplier ids are UUIDs; the pattern also keeps NUL and the like away from SQL.
_ID = r"^[A-Za-z0-9-]{1,64}$"


@router.get("", responses={422: {"description": "No filter, or an id that is not one"}})
async def list_deliveries(
    pool: Pool,
    tender_id: Annotated[str | None, Query(pattern=_ID, description="A tender's id")] = None,
    supplier_id: Annotated[str | None, Query(pattern=_ID, description="A supplier's id")] = None,
) -> list[DeliveryView]:
    if tender_id is None and supplier_id is None:
        raise ApiError.one(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            ("query", "tender_id"),
            "give tender_id, supplier_id or both: all deliveries at once would be too many",
            "missing",
        )
    rows = await pool.fetch(
        "SELECT * FROM deliveries WHERE ($1::text IS NULL OR tender_id = $1)"
        " AND ($2::text IS NULL OR supplier_id = $2) ORDER BY created_at LIMIT 1000",
        tender_id,
        supplier_id,
    )
    return [DeliveryView.model_validate(dict(r)) for r in rows]
