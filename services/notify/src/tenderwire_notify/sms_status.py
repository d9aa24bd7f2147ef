"""The SMS providers' status callbacks: idempotent, and monotonic, so a late "sent" never
overwrites "delivered" and a repeated callback changes nothing."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Form, Path, Request, Response, status

router = APIRouter(prefix="/v1/sms/status", tags=["sms"])
log = structlog.get_logger()

# Provider status -> (our state, rank). A callback only ever moves a delivery up the ranks.
_STATES = {
    "queued": ("sending", 1),
    "sending": ("sending", 1),
    "sent": ("sent", 2),
    "delivered": ("delivered", 3),
    "undelivered": ("failed", 3),
    "failed": ("failed", 3),
}
_RANK_SQL = "CASE state WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'sent' THEN 2 ELSE 3 END"


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


@router.post("/{delivery_id}", status_code=status.HTTP_204_NO_CONTENT)
async def status_callback(
    delivery_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")],
    message_status: Annotated[str, Form(alias="MessageStatus", max_length=40)],
    pool: Annotated[asyncpg.Pool, Depends(_pool)],
    error_code: Annotated[str | None, Form(alias="ErrorCode", max_length=40)] = None,
) -> Response:
    mapped = _STATES.get(message_status.lower())
    if mapped is None:
        log.warning("sms_status_unknown", notification_id=delivery_id, status=message_status)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    state, rank = mapped
    error = f"provider reported {message_status}" + (f" ({error_code})" if error_code else "")
    updated = await pool.fetchval(
        f"UPDATE deliveries SET state = $2, updated_at = now(),"  # noqa: S608 - constant SQL
        f" last_error = CASE WHEN $2 = 'failed' THEN $4 ELSE last_error END"
        f" WHERE id = $1 AND channel = 'sms' AND {_RANK_SQL} < $3 RETURNING true",
        delivery_id,
        state,
        rank,
        error,
    )
    log.info(
        "sms_status", notification_id=delivery_id, status=message_status, applied=bool(updated)
    )
    # Always 204: a provider retrying a callback we already applied must not retry forever.
    return Response(status_code=status.HTTP_204_NO_CONTENT)
