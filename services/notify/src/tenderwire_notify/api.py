"""HTTP entrypoints: delivery status for operators, behind the operators' token (and the
portal's views of one supplier's alerts and stops, which matching calls with it), the SMS
providers' status callbacks, and the texts suppliers send back to an SMS alert (STOP, START,
HELP).

A status callback is idempotent, monotonic, and never lost. It only moves a delivery up the
ranks (`domain.SMS_RANKS`), so a late "sent" never overwrites "delivered", and a repeated
callback changes nothing; both, like an unknown status, get 204 so the provider stops. Each
callback must carry the provider's `X-Twilio-Signature` (`dependencies.signed_by_provider`);
anything else gets 403 and changes nothing. Inbound texts are signed the same way.

While notify's database cannot be reached (refused, shutting down, restarting, pool
exhausted), the callback gets 503 with Retry-After within `DATABASE_WAIT_S`: providers retry
a 5xx, and a provider whose webhook times out may not.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from xml.sax.saxutils import escape

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Form, Path, Query, Response, status
from fastapi.responses import JSONResponse

from tenderwire_notify import domain, repository, services
from tenderwire_notify.dependencies import Settings, operator, signed_by_provider
from tenderwire_notify.domain import ChannelName, SmsCommand
from tenderwire_notify.schemas import (
    AlertView,
    ChannelsChange,
    ChannelStatusView,
    DeliveryView,
    EmailAddress,
    PhoneNumber,
)
from tenderwire_notify.sms_text import refused_reply, reply_to
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
        return _unavailable("the delivery ledger is unavailable; retry this callback later")
    log.info("sms_status", notification_id=delivery_id, status=message_status, applied=updated)
    # 204 even when nothing changed: a provider retrying a callback we already applied must
    # not retry forever.
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _unavailable(message: str) -> JSONResponse:
    # Answered here rather than raised: this must stay a quick 503 whatever error handlers
    # the app has.
    unavailable = ApiError.one(status.HTTP_503_SERVICE_UNAVAILABLE, (), message, "unavailable")
    return JSONResponse(
        unavailable.body(),
        status_code=unavailable.status_code,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


# --- Texts sent back to an SMS alert: STOP, START, HELP ------------------------------------

inbound_router = APIRouter(prefix="/v1/sms", tags=["sms"])

# A reply's confirmation waits this long, at most, for texts to the number already on their
# way, so it is the last text the number gets; the provider waits 10-15 s for the webhook.
STOP_WAIT_S = 3.0
# Twilio's "From" for a text: E.164.
E164 = r"^\+[1-9][0-9]{6,14}$"
# A text may hold line breaks and tabs, never NUL or another control character.
SMS_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# Twilio's longest message: 1600 characters (ten or more parts).
MAX_SMS_CHARACTERS = 1600
TWIML = "application/xml"
_TWIML_ANSWER = {
    "description": (
        "TwiML for the provider: `<Response><Message>…</Message></Response>` confirms a STOP or"
        " START, or answers HELP, in the sender's language; any other text gets `<Response/>`"
        " (no reply: answering everything invites loops between robots)"
    ),
    "content": {TWIML: {"schema": {"type": "string"}}},
}


def twiml(message: str | None) -> Response:
    """The TwiML answer to an inbound text: one reply, XML-escaped, or none."""
    body = (
        "<Response/>"
        if message is None
        else f"<Response><Message>{escape(message)}</Message></Response>"
    )
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?>{body}', media_type=f"{TWIML}; charset=utf-8"
    )


@inbound_router.post(
    "/inbound",
    response_class=Response,
    dependencies=[Depends(signed_by_provider)],
    summary="A text sent back to an SMS alert (Twilio-style webhook): STOP, START or HELP",
    responses={
        200: _TWIML_ANSWER,
        403: {"description": "No valid X-Twilio-Signature from the provider the URL names"},
        503: {"description": "The database is unavailable; retry after Retry-After"},
    },
)
async def inbound_text(
    pool: Pool,
    settings: Settings,
    sender: Annotated[
        str,
        Form(alias="From", max_length=16, pattern=E164, description="The sender, E.164"),
    ],
    text: Annotated[
        str,
        Form(
            alias="Body",
            max_length=MAX_SMS_CHARACTERS,
            pattern=SMS_TEXT,
            description="What the sender wrote",
        ),
    ] = "",
    to: Annotated[
        str | None,
        Form(alias="To", max_length=40, pattern=NO_CONTROL_CHARACTERS, description="Our number"),
    ] = None,
    message_sid: Annotated[
        str | None,
        Form(alias="MessageSid", max_length=64, pattern=r"^[A-Za-z0-9]+$"),
    ] = None,
) -> Response:
    """What a text sent back to an SMS alert does, by its words (`domain.sms_command`: STOP,
    START, HELP and their usual equivalents in each language, ignoring case and accents):

    - STOP: no more SMS alerts to the sender's number (a suppression, reason 'sms-stop'), on
      this channel only: e-mail alerts go on. Confirmed by a text.
    - START: SMS alerts to the number start again with the next alert, if the number stopped
      them itself (STOP, or an unsubscribe link); confirmed by a text.
    - HELP: a text saying how to stop and resume, and where to ask (TW_NOTIFY_SMS_HELP_CONTACT).
    - anything else: no reply, nothing changes.

    Replies are in the language of the newest alert to the number, else English.
    """
    command = domain.sms_command(text)
    log.info(
        "sms_inbound" if command else "sms_inbound_ignored",
        message_sid=message_sid,
        sender=sender,
        command=command.value if command else None,
        characters=len(text),
    )
    if command is None:
        return twiml(None)
    refused = False
    try:
        async with asyncio.timeout(DATABASE_WAIT_S + STOP_WAIT_S):
            if command is SmsCommand.STOP:
                language = await services.stop_texts(pool, sender, wait_s=STOP_WAIT_S)
            elif command is SmsCommand.START:
                resumed = await services.resume_texts(pool, sender)
                language, refused = resumed.language, resumed.still_refused
            else:
                language = await services.texts_language(pool, sender)
    except DATABASE_UNAVAILABLE as exc:
        log.warning(
            "sms_inbound_deferred",
            message_sid=message_sid,
            command=command.value,
            error=repr(exc),
            retry_after_s=RETRY_AFTER_S,
        )
        return _unavailable("the delivery ledger is unavailable; retry this message later")
    reply = (
        refused_reply(language=language or "en", help_contact=settings.sms_help_contact)
        if refused
        else reply_to(command, language=language or "en", help_contact=settings.sms_help_contact)
    )
    return twiml(reply)


# --- The supplier portal's views (matching calls these server-side) ------------------------

portal_router = APIRouter(prefix="/v1/suppliers", tags=["portal"], dependencies=[Depends(operator)])
MAX_ALERTS = 50
_SUPPLIER_ID = Annotated[str, Path(pattern=_ID, description="The supplier's id")]


@portal_router.get("/{supplier_id}/alerts")
async def supplier_alerts(
    pool: Pool,
    supplier_id: _SUPPLIER_ID,
    limit: Annotated[int, Query(ge=1, le=MAX_ALERTS, description="How many, newest first")] = 50,
) -> list[AlertView]:
    """The supplier's latest alerts, newest first, one per channel; account messages are not
    listed. `reason` says why one was not sent (suppressed or failed)."""
    rows = await repository.supplier_alerts(pool, supplier_id, limit)
    return [AlertView.from_row(r) for r in rows]


@portal_router.get("/{supplier_id}/channels")
async def channel_statuses(
    pool: Pool,
    supplier_id: _SUPPLIER_ID,
    email: Annotated[
        list[EmailAddress] | None, Query(max_length=10, description="E-mail addresses")
    ] = None,
    phone: Annotated[
        list[PhoneNumber] | None, Query(max_length=10, description="Phones, E.164")
    ] = None,
) -> list[ChannelStatusView]:
    """Whether each of the supplier's addresses is stopped, and why: 'unsubscribed' (a link
    or the portal), 'sms-stop' (STOP texted back), or the provider's refusal (a bounce)."""
    pairs = [(ChannelName.EMAIL.value, a) for a in email or ()]
    pairs += [(ChannelName.SMS.value, p) for p in phone or ()]
    return [ChannelStatusView.of(s) for s in await services.channel_statuses(pool, pairs)]


@portal_router.post("/{supplier_id}/channels")
async def set_channels(
    pool: Pool, supplier_id: _SUPPLIER_ID, body: ChannelsChange
) -> list[ChannelStatusView]:
    """Stop (`subscribed: false`) or resume alerts to the addresses given on the scope's
    channels ('email', 'sms' or 'all'), as the unsubscribe link's pages do: resuming lifts
    only an unsubscribe, never a STOP texted from the phone nor a bounce, which the answer
    then shows as still stopped. Addresses of another channel than the scope's are left."""
    pairs = [(a.channel, a.address) for a in body.addresses if body.scope in ("all", a.channel)]
    statuses = await services.set_subscribed(
        pool, supplier_id, pairs, subscribed=body.subscribed, timeout_s=STOP_WAIT_S
    )
    return [ChannelStatusView.of(s) for s in statuses]
