"""The portal's landing page: register, or sign in; signed in, the account's overview."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tenderwire_matching.portal.web.rendering import page, page_language
from tenderwire_matching.portal.web.sessions import MaybeSignedIn

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
async def landing(request: Request, session: MaybeSignedIn) -> HTMLResponse:
    language = page_language(request, session.language if session else None)
    return page(request, "home.html", language=language)
