"""One-click unsubscribe (RFC 8058): a confirmation page, and a POST that stops every further
alert to the address. The links are signed (`schemas.link_for`); a link we did not sign names
nobody."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from tenderwire_notify import services
from tenderwire_notify.dependencies import LinkedSubscriber, Settings
from tenderwire_shared.dependencies import Pool

router = APIRouter(prefix="/v1/unsubscribe", tags=["unsubscribe"])


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
async def confirm(subscriber: LinkedSubscriber) -> HTMLResponse:
    # Mail scanners follow links: a GET must never unsubscribe by itself.
    if subscriber is None:
        return _page(*_INVALID)
    return _page(
        "Stop tender alerts?",
        f"<p>No more tender alerts will be sent to <b>{html.escape(subscriber.address)}</b>."
        "</p><form method=post><button type=submit>Unsubscribe</button></form>",
    )


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe (RFC 8058 one-click)",
    responses=_NOT_RECOGNISED,
)
async def unsubscribe(subscriber: LinkedSubscriber, pool: Pool, settings: Settings) -> HTMLResponse:
    if subscriber is None:
        return _page(*_INVALID)
    # Answers only when the sends claimed before the suppression have left, so nothing
    # reaches the address after this page says it will not.
    await services.unsubscribe(pool, subscriber, timeout_s=settings.smtp_timeout_s + 5)
    return _page(
        "Unsubscribed",
        f"<p>{html.escape(subscriber.address)} will get no more tender alerts.</p>",
    )
