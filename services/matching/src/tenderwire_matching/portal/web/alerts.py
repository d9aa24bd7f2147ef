"""The alerts received, `/portal/alerts`: the last 50 alerts and their delivery state, and
whether each channel is stopped, with buttons to stop or resume e-mail, texts, or all. Both
are notify's (its ledger and its suppressions), read and changed server-side over its API with
the operators' token (`portal.notify_api`); when notify cannot answer, the page says so and
renders the rest."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenderwire_matching.portal.notify_api import (
    AlertRow,
    ChannelState,
    NotifyApi,
    NotifyUnavailableError,
)
from tenderwire_matching.portal.web.profile import Profile, posted_form, text
from tenderwire_matching.portal.web.rendering import page, page_language
from tenderwire_matching.schemas import SupplierView
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared.i18n import N_

router = APIRouter(prefix="/portal", include_in_schema=False)

KINDS = {"new": N_("New tender"), "amended": N_("Amendment"), "cancelled": N_("Cancellation")}
CHANNELS = {"email": N_("E-mail"), "sms": N_("Text message")}
STATES = {
    "pending": N_("Waiting to be sent"),
    "batched": N_("Waiting for your daily digest"),
    "deferred": N_("Waiting for the end of your quiet hours"),
    "sending": N_("Being sent"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "failed": N_("Could not be delivered"),
    "suppressed": N_("Not sent: alerts to this address are stopped"),
    "superseded": N_("Replaced by a newer alert about the same tender"),
}
STOP_REASONS = {
    "unsubscribed": N_("You stopped these alerts."),
    "sms-stop": N_("You replied STOP by text message. Reply START to resume."),
}


def notify_api(request: Request) -> NotifyApi:
    settings: MatchingSettings = request.app.state.settings
    client: httpx.AsyncClient | None = getattr(request.app.state, "notify_http", None)
    if client is None:
        client = httpx.AsyncClient()
        request.app.state.notify_http = client
    token = settings.operator_token.get_secret_value() if settings.operator_token else None
    return NotifyApi(client, settings.notify_url, token)


Notify = Annotated[NotifyApi, Depends(notify_api)]


def addresses_of(profile: SupplierView) -> list[tuple[str, str]]:
    found = [("email", profile.email), *(("email", other) for other in profile.also_email)]
    if profile.phone:
        found.append(("sms", profile.phone))
    return found


async def _channels(notify: NotifyApi, profile: SupplierView) -> list[ChannelState] | None:
    try:
        return await notify.channels(profile.id, addresses_of(profile))
    except NotifyUnavailableError:
        return None


def _render(
    request: Request,
    profile: SupplierView,
    alerts: list[AlertRow] | None,
    channels: list[ChannelState] | None,
    *,
    done: bool = False,
    status_code: int = status.HTTP_200_OK,
) -> HTMLResponse:
    settings: MatchingSettings = request.app.state.settings
    return page(
        request,
        "alerts.html",
        language=page_language(request, profile.language),
        status_code=status_code,
        alerts=alerts,
        channels=channels,
        has_phone=profile.phone is not None,
        notices_url=settings.notices_public_url.rstrip("/"),
        kinds=KINDS,
        channel_names=CHANNELS,
        states=STATES,
        stop_reasons=STOP_REASONS,
        done=done,
    )


@router.api_route("/alerts", methods=["GET", "HEAD"])
async def alerts(request: Request, profile: Profile, notify: Notify) -> HTMLResponse:
    try:
        received: list[AlertRow] | None = await notify.alerts(profile.id)
    except NotifyUnavailableError:
        received = None
    return _render(
        request,
        profile,
        received,
        await _channels(notify, profile),
        done=request.query_params.get("done") == "channels",
    )


@router.post("/alerts/channels")
async def change_channels(request: Request, profile: Profile, notify: Notify) -> Response:
    form = await posted_form(request)
    scope, action = text(form, "scope"), text(form, "action")
    if scope not in ("email", "sms", "all") or action not in ("stop", "resume"):
        return _render(
            request,
            profile,
            None,
            await _channels(notify, profile),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        await notify.set_subscribed(profile.id, scope, action == "resume", addresses_of(profile))
    except NotifyUnavailableError:
        return _render(
            request, profile, None, None, status_code=status.HTTP_503_SERVICE_UNAVAILABLE
        )
    return RedirectResponse("/portal/alerts?done=channels", status_code=status.HTTP_303_SEE_OTHER)
