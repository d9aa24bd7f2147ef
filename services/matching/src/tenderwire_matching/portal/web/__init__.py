"""The portal's HTTP side: every page under /portal, its static CSS, and how its errors look.

Each module holds one part's routes: `home` (the landing page), `accounts` (registration,
verification, sign-in, contacts, tokens, leaving), `preferences` (what and how alerts come, the
feed's address), `codes` (the code picker), `alerts` (the alerts received and stopping them,
from notify), `feed` (the private Atom feed). `profile` and `choices` are what their forms
share.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from tenderwire_matching.portal.web import alerts, codes, feed, home, preferences
from tenderwire_matching.portal.web.rendering import page, page_language
from tenderwire_matching.portal.web.sessions import (
    FormTokenError,
    SignInRequiredError,
    to_sign_in,
)


def install_portal(app: FastAPI) -> None:
    app.mount(
        "/portal/static",
        StaticFiles(packages=[("tenderwire_matching.portal", "static")]),
        "portal-static",
    )
    app.include_router(home.router)
    for part in (preferences, codes, alerts, feed):
        app.include_router(part.router)

    @app.exception_handler(SignInRequiredError)
    async def _sign_in_first(request: Request, exc: SignInRequiredError) -> RedirectResponse:
        return to_sign_in(exc.next_path)

    @app.exception_handler(FormTokenError)
    async def _stale_form(request: Request, exc: FormTokenError) -> HTMLResponse:
        return page(
            request,
            "stale_form.html",
            language=page_language(request),
            status_code=status.HTTP_403_FORBIDDEN,
        )
