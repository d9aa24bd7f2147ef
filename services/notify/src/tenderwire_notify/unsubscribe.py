"""One-click unsubscribe (RFC 8058): signed links, a confirmation page, and a POST that stops
every further alert to the address."""

from __future__ import annotations

import html
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel

from tenderwire_notify import suppressions
from tenderwire_notify.settings import NotifySettings

router = APIRouter(prefix="/v1/unsubscribe", tags=["unsubscribe"])

_SALT = "tenderwire-unsubscribe"


class Subscription(BaseModel):
    supplier_id: str
    channel: str
    address: str


def _serializer(settings: NotifySettings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.unsubscribe_secret.get_secret_value(), salt=_SALT)


def token_for(settings: NotifySettings, subscription: Subscription) -> str:
    return str(_serializer(settings).dumps(subscription.model_dump()))


def link_for(settings: NotifySettings, subscription: Subscription) -> str:
    return f"{settings.public_base_url}/v1/unsubscribe/{token_for(settings, subscription)}"


def _settings(request: Request) -> NotifySettings:
    settings: NotifySettings = request.app.state.settings
    return settings


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def _subscription(
    token: Annotated[str, Path(max_length=2000)],
    settings: Annotated[NotifySettings, Depends(_settings)],
) -> Subscription | None:
    try:
        return Subscription.model_validate(_serializer(settings).loads(token))
    except (BadSignature, ValueError):
        return None


Found = Annotated[Subscription | None, Depends(_subscription)]


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(title)}</title><body style='font-family:sans-serif;max-width:30em'>"
        f"<h1>{html.escape(title)}</h1>{body}",
        status_code=status_code,
    )


# 404 rather than 400: the link names a subscription, and no such (unforged) one exists.
_INVALID = ("Link not recognised", "<p>This unsubscribe link is not valid.</p>", 404)
_NOT_RECOGNISED: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "The link is not valid (altered, or not one of ours): an HTML page",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    summary="Confirm before unsubscribing",
    responses=_NOT_RECOGNISED,
)
async def confirm(subscription: Found) -> HTMLResponse:
    # Mail scanners follow links: a GET must never unsubscribe by itself.
    if subscription is None:
        return _page(*_INVALID)
    return _page(
        "Stop tender alerts?",
        f"<p>No more tender alerts will be sent to <b>{html.escape(subscription.address)}</b>."
        "</p><form method=post><button type=submit>Unsubscribe</button></form>",
    )


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe (RFC 8058 one-click)",
    responses=_NOT_RECOGNISED,
)
async def unsubscribe(
    request: Request, subscription: Found, pool: Annotated[asyncpg.Pool, Depends(_pool)]
) -> HTMLResponse:
    if subscription is None:
        return _page(*_INVALID)
    await suppressions.add(pool, subscription.channel, subscription.address, "unsubscribed")
    # Answer only when the sends claimed before the suppression have left, so nothing
    # reaches the address after this page says it will not.
    settings: NotifySettings = request.app.state.settings
    await suppressions.wait_for_sends_in_flight(
        pool, subscription.channel, subscription.address, timeout_s=settings.smtp_timeout_s + 5
    )
    return _page(
        "Unsubscribed",
        f"<p>{html.escape(subscription.address)} will get no more tender alerts.</p>",
    )
