"""The SMS providers' status callbacks: idempotent, monotonic, and never lost.

A callback only moves a delivery up the ranks, so a late "sent" never overwrites "delivered",
and a repeated callback changes nothing; both, like an unknown status, get 204 so the
provider stops. A "delivered" that overtakes the worker's own record of the send (the row is
still 'sending' or back to 'queued' after a timed-out request the provider did accept) still
applies; the worker only ever moves 'sending' to 'sent', so it cannot undo it.

While notify's database cannot be reached (refused, shutting down, restarting, pool
exhausted), the callback gets 503 with Retry-After within `DATABASE_WAIT_S`: providers retry
a 5xx, and a provider whose webhook times out may not.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Form, Path, Request, Response, status
from fastapi.responses import JSONResponse

router = APIRouter(prefix="/v1/sms/status", tags=["sms"])
log = structlog.get_logger()

# Provider status -> (our state, rank). Only statuses that say the provider has taken the
# message move a row: "queued" and "sending" would turn a row the worker will retry into a
# 'sending' row that no worker holds, and so strand it.
_STATES = {
    "sent": ("sent", 2),
    "delivered": ("delivered", 3),
    "undelivered": ("failed", 3),
    "failed": ("failed", 3),
}
_PROGRESS_ONLY = frozenset({"accepted", "scheduled", "queued", "sending"})
_RANK_SQL = "CASE state WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'sent' THEN 2 ELSE 3 END"
_APPLY_SQL = (
    "UPDATE deliveries SET state = $2, updated_at = now(),"  # noqa: S608 - constant SQL
    " sent_at = CASE WHEN $2 = 'failed' THEN sent_at ELSE coalesce(sent_at, now()) END,"
    " last_error = CASE WHEN $2 = 'failed' THEN $4 ELSE last_error END"
    f" WHERE id = $1 AND channel = 'sms' AND {_RANK_SQL} < $3 RETURNING true"
)

# Well inside the 10-15 s a provider waits for a webhook, so it hears 503 rather than a timeout.
DATABASE_WAIT_S = 3.0
RETRY_AFTER_S = 5
DATABASE_UNAVAILABLE = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # no connection from the pool, or no answer, within DATABASE_WAIT_S
    asyncpg.PostgresConnectionError,  # lost mid-query, or the server refused the session
    asyncpg.OperatorInterventionError,  # shutting down, starting up (CannotConnectNow)
    asyncpg.TooManyConnectionsError,
)


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


@router.post(
    "/{delivery_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={503: {"description": "The database is unavailable; retry after Retry-After"}},
)
async def status_callback(
    delivery_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")],
    message_status: Annotated[str, Form(alias="MessageStatus", max_length=40)],
    pool: Annotated[asyncpg.Pool, Depends(_pool)],
    error_code: Annotated[str | None, Form(alias="ErrorCode", max_length=40)] = None,
) -> Response:
    reported = message_status.lower()
    mapped = _STATES.get(reported)
    if mapped is None:
        if reported not in _PROGRESS_ONLY:
            log.warning("sms_status_unknown", notification_id=delivery_id, status=message_status)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    state, rank = mapped
    error = f"provider reported {message_status}" + (f" ({error_code})" if error_code else "")
    try:
        async with asyncio.timeout(DATABASE_WAIT_S):
            updated = await pool.fetchval(_APPLY_SQL, delivery_id, state, rank, error)
    except DATABASE_UNAVAILABLE as exc:
        log.warning(
            "sms_status_deferred",
            notification_id=delivery_id,
            status=message_status,
            error=repr(exc),
            retry_after_s=RETRY_AFTER_S,
        )
        return JSONResponse(
            {"detail": "the delivery ledger is unavailable; retry this callback later"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    log.info(
        "sms_status", notification_id=delivery_id, status=message_status, applied=bool(updated)
    )
    # 204 even when nothing changed: a provider retrying a callback we already applied must
    # not retry forever.
    return Response(status_code=status.HTTP_204_NO_CONTENT)
