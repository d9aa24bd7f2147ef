"""The private Atom feed, `/portal/feed/{token}.atom`: no session, since feed readers have none;
the token in the address is the credential (made and revoked on the preferences page). An
unknown token, or one of a closed account, is 404, like any address that is not there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from tenderwire_matching.portal.feed.domain import CONTENT_TYPE
from tenderwire_matching.portal.feed.services import Links, feed_document
from tenderwire_matching.portal.web.rendering import MESSAGES
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared.dependencies import Pool

router = APIRouter(prefix="/portal", include_in_schema=False)

FeedToken = Annotated[str, Path(max_length=100)]


@router.api_route("/feed/{token}.atom", methods=["GET", "HEAD"])
async def feed(request: Request, token: FeedToken, pool: Pool) -> Response:
    settings: MatchingSettings = request.app.state.settings
    document = None
    if token.isascii() and token.isprintable():
        document = await feed_document(
            pool,
            token,
            MESSAGES,
            Links(notices_url=settings.notices_public_url, portal_url=settings.portal_url),
            datetime.now(UTC),
        )
    if document is None:
        return Response("No such feed.\n", status_code=404, media_type="text/plain; charset=utf-8")
    # Private: no shared cache may keep a copy, nor any referrer carry the address on.
    return Response(
        document,
        media_type=CONTENT_TYPE,
        headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
    )
