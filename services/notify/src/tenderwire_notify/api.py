"""HTTP entrypoints: delivery status for operators, behind the operators' token, and the SMS
providers' status callbacks.

A status callback is idempotent, monotonic, and never lost. It only moves a delivery up the
ranks (`domain.SMS_RANKS`), so a late "sent" never overwrites "delivered", and a repeated
callback changes nothing; both, like an unknown status, get 204 so the provider stops. Each
callback must carry the provider's `X-Twilio-Signature` (`dependencies.signed_by_provider`);
anything else gets 403 and changes nothing.

While notify's database cannot be reached (refused, shutting down, restarting, pool
exhausted), the callback gets 503 with Retry-After within `DATABASE_WAIT_S`: providers retry
a 5xx, and a provider whose webhook times out may not.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Form, Path, Query, Response, status
from fastapi.responses import JSONResponse

from tenderwire_notify import domain, repository, services
from tenderwire_notify.dependencies import operator, signed_by_provider
from tenderwire_notify.schemas import DeliveryView
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.dependencies import Pool
from tenderwire_shared.http import NO_CONTROL_CHARACTERS

log = structlog.get_logger()

# Tender, supplier and delivery ids are UUIDs; the pattern also keeps NUL and the like away
# from SQL.
_ID = r"^[A-Za-z0-9-]{1,64}$"

# --- Deliveries, for operators -------------------------------------------------------------

deliveries_router = APIRouter(
    prefix="/v1/deliveries", tags=["deliveries"], dependencies=[Depends(operator)]
)


@deliveries_router.get("", responses={422: {"description": "No filter, or an id that is not one"}})
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
    rows = await repository.deliveries(pool, tender_id=tender_id, supplier_id=supplier_id)
    return [DeliveryView.model_validate(dict(r)) for r in rows]


# --- SMS status callbacks ------------------------------------------------------------------

sms_router = APIRouter(prefix="/v1/sms/status", tags=["sms"])

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


@sms_router.post(
    "/{delivery_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(signed_by_provider)],
    responses={
        403: {"description": "No valid X-Twilio-Signature from the provider the URL names"},
        503: {"description": "The database is unavailable; retry after Retry-After"},
    },
)
async def status_callback(
    delivery_id: Annotated[str, Path(pattern=_ID)],
    message_status: Annotated[str, Form(alias="MessageStatus", max_length=40)],
    pool: Pool,
    # Twilio's are numbers; any text without control characters, as the ledger stores it.
    error_code: Annotated[
        str | None, Form(alias="ErrorCode", max_length=40, pattern=NO_CONTROL_CHARACTERS)
    ] = None,
) -> Response:
    state = domain.sms_state_for(message_status)
    if state is None:
        if message_status.lower() not in domain.SMS_PROGRESS_ONLY:
            log.warning("sms_status_unknown", notification_id=delivery_id, status=message_status)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    error = domain.sms_status_error(message_status, error_code)
    try:
        async with asyncio.timeout(DATABASE_WAIT_S):
            updated = await services.record_sms_status(pool, delivery_id, state, error)
    except DATABASE_UNAVAILABLE as exc:
        log.warning(
            "sms_status_deferred",
            notification_id=delivery_id,
            status=message_status,
            error=repr(exc),
            retry_after_s=RETRY_AFTER_S,
        )
        # Answered here rather than raised: this must stay a quick 503 whatever error
        # handlers the app has.
        unavailable = ApiError.one(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            (),
            "the delivery ledger is unavailable; retry this callback later",
            "unavailable",
        )
        return JSONResponse(
            unavailable.body(),
            status_code=unavailable.status_code,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    log.info("sms_status", notification_id=delivery_id, status=message_status, applied=updated)
    # 204 even when nothing changed: a provider retrying a callback we already applied must
    # not retry forever.
    return Response(status_code=status.HTTP_204_NO_CONTENT)
