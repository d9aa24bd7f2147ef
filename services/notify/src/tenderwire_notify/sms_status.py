"""The SMS providers' status callbacks: idempotent, monotonic, and never lost.

A callback only moves a delivery up the ranks, so a late "sent" never overwrites "delivered",
and a repeated callback changes nothing; both, like an unknown status, get 204 so the
provider stops. A "delivered" that overtakes the worker's own record of the send (the row is
still 'sending' or back to 'queued' after a timed-out request the provider did accept) still
applies; the worker only ever moves 'sending' to 'sent', so it cannot undo it.

Each callback must carry the provider's `X-Twilio-Signature` (Twilio's "Webhooks security":
base64 HMAC-SHA1, keyed with the provider's auth token, of the full URL followed by every POST
parameter's name and value, sorted by name); anything else gets 403 and changes nothing. The
URL names the provider (`?provider=`, set by `sms.status_callback_url`), so each provider's
callbacks are checked against its own token. The signed URL is rebuilt from
TW_NOTIFY_PUBLIC_BASE_URL, not from the request: behind a proxy or load balancer the scheme,
host and port notify sees are not the ones the provider called.

While notify's database cannot be reached (refused, shutting down, restarting, pool
exhausted), the callback gets 503 with Retry-After within `DATABASE_WAIT_S`: providers retry
a 5xx, and a provider whose webhook times out may not.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Form, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.http import NO_CONTROL_CHARACTERS

SIGNATURE_HEADER = "X-Twilio-Signature"

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


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """What Twilio sends as X-Twilio-Signature for a form POST of `params` to `url`."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], presented: str
) -> bool:
    expected = twilio_signature(auth_token, url, params)
    # Bytes, as compare_digest refuses non-ASCII text, and a header can carry any Latin-1.
    return hmac.compare_digest(expected.encode(), presented.encode())


def _signed_url(request: Request, public_base_url: str) -> str:
    query = request.url.query
    return public_base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def _refused(loc: tuple[str, ...], msg: str) -> ApiError:
    return ApiError.one(status.HTTP_403_FORBIDDEN, loc, msg, "invalid_signature")


async def signed_by_provider(
    request: Request,
    provider: Annotated[str | None, Query(max_length=100)] = None,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER, max_length=200)] = None,
) -> None:
    """Lets through only callbacks signed with the auth token of the provider the URL names."""
    settings: NotifySettings = request.app.state.settings
    configured = settings.provider(provider) if provider is not None else None
    if configured is None:
        raise _refused(
            ("query", "provider"),
            "the callback URL must name a configured SMS provider (?provider=<name>), as the"
            " StatusCallback notify sends does",
        )
    if not signature:
        raise _refused(
            ("header", SIGNATURE_HEADER),
            f"missing: sign the callback with provider {provider!r}'s auth token",
        )
    form = await request.form()
    params = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    url = _signed_url(request, settings.public_base_url)
    if not signature_matches(configured.auth_token.get_secret_value(), url, params, signature):
        log.warning("sms_status_bad_signature", provider=provider, url=url)
        raise _refused(
            ("header", SIGNATURE_HEADER),
            f"does not match this callback's URL and parameters signed with provider"
            f" {provider!r}'s auth token",
        )


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


@router.post(
    "/{delivery_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(signed_by_provider)],
    responses={
        403: {"description": "No valid X-Twilio-Signature from the provider the URL names"},
        503: {"description": "The database is unavailable; retry after Retry-After"},
    },
)
async def status_callback(
    delivery_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")],
    message_status: Annotated[str, Form(alias="MessageStatus", max_length=40)],
    pool: Annotated[asyncpg.Pool, Depends(_pool)],
    # Twilio's are numbers; any text without control characters, as the ledger stores it.
    error_code: Annotated[
        str | None, Form(alias="ErrorCode", max_length=40, pattern=NO_CONTROL_CHARACTERS)
    ] = None,
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
    log.info(
        "sms_status", notification_id=delivery_id, status=message_status, applied=bool(updated)
    )
    # 204 even when nothing changed: a provider retrying a callback we already applied must
    # not retry forever.
    return Response(status_code=status.HTTP_204_NO_CONTENT)
