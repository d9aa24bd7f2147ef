"""The public notice page: every tender, server-rendered, for anyone with its link.

- `GET /notices/{id}` (and HEAD): the page. `GET /v1/notices/{id}` answers the same page to
  a browser and the JSON to API clients (`prefers_html`, api.py).
- `GET /notices/{id}.ics`: the deadline for a calendar (`calendar.py`); a closed or awarded
  tender's answers 410 with a page saying why, a cancelled one's is a cancelled event.
- `GET /static/notice.css`: the one stylesheet, since the CSP allows no inline style.

The language is `?lang=` when it is one of the seven, else the browser's `Accept-Language`,
else English; the reader's zone is `?tz=` when it is an IANA zone, else UTC. Neither is ever
refused: a link with a bad value still opens the page. Tenders are public notices, so the
page may be cached briefly; it holds nothing about its reader.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from tenderwire_notices import repository
from tenderwire_notices.dependencies import Settings
from tenderwire_notices.domain import NOTICE_ID_PATTERN
from tenderwire_notices.repository import Executor
from tenderwire_notices.schemas import Revision
from tenderwire_notices.settings import NoticesSettings
from tenderwire_notices.web import calendar, rendering
from tenderwire_shared.dependencies import Pool
from tenderwire_shared.events.tenders import TenderSnapshot, TenderStatus
from tenderwire_shared.i18n import negotiate

router = APIRouter(tags=["notice page"])

# As the console's (tenderwire_console.web.rendering): no inline script or style anywhere, so
# markup that slipped past escaping still could not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# A public notice, the same for every reader: a minute in a shared cache spares the service
# a burst of readers when an alert goes out, and an amendment still shows within a minute.
PUBLIC_CACHE = "public, max-age=60"
_CSS = files("tenderwire_notices.web").joinpath("static", "notice.css").read_bytes()

_HTML = {"text/html": {"schema": {"type": "string"}}}
PAGE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The notice page", "content": _HTML},
    404: {"description": "No notice with this id: an HTML page", "content": _HTML},
}
CALENDAR_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An iCalendar event at the deadline (STATUS:CANCELLED once cancelled)",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
    },
    404: {"description": "No notice with this id: an HTML page", "content": _HTML},
    410: {"description": "The tender is closed or awarded: an HTML page", "content": _HTML},
}

Lang = Annotated[
    str | None,
    Query(description="ar, en, es, fr, pt, ru or zh; any other value is ignored"),
]
Zone = Annotated[
    str | None,
    Query(description="The reader's IANA time zone (Africa/Dakar); any other value is UTC"),
]


class NoticeReader:
    """What the page and the notice's JSON read: the tender, its revisions, its agency."""

    def __init__(self, conn: Executor, public_base_url: str) -> None:
        self.conn = conn
        self.public_base_url = public_base_url

    async def notice(self, notice_id: str) -> tuple[TenderSnapshot, list[Revision]] | None:
        row = await repository.get(self.conn, notice_id)
        if row is None:
            return None
        tender = repository.to_snapshot(row, self.public_base_url)
        return tender, await repository.revisions(self.conn, notice_id)

    async def agency_name(self, agency: str) -> str | None:
        return await repository.agency_name(self.conn, agency)


def notice_reader(pool: Pool, settings: Settings) -> NoticeReader:
    return NoticeReader(pool, settings.public_base_url)


Reader = Annotated[NoticeReader, Depends(notice_reader)]


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def _accepts(ranges: list[tuple[str, float]], media_type: str) -> float:
    """The q-value `ranges` give `media_type`: its most specific matching range's (RFC 9110
    12.5.1), 0 when none matches."""
    kind = media_type.split("/", maxsplit=1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for media_range, quality in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{kind}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def prefers_html(accept: str | None) -> bool:
    """Whether a client would rather read HTML than JSON, as a browser's
    `text/html,...,*/*;q=0.8` says. No Accept, `*/*`, a tie and `application/json` are the
    API's clients: they get JSON, as they always have."""
    if not accept:
        return False
    ranges = []
    for item in accept.split(",")[:64]:
        media_range, _, params = item.strip().partition(";")
        ranges.append((media_range.strip().lower(), _quality(params)))
    return _accepts(ranges, "text/html") > _accepts(ranges, "application/json")


def page_language(request: Request, lang: str | None) -> str:
    return negotiate(request.headers.get("accept-language"), lang)


def _headers(language: str, *, cache: str) -> dict[str, str]:
    return {
        **SECURITY_HEADERS,
        "Content-Language": language,
        "Vary": "Accept, Accept-Language",
        "Cache-Control": cache,
    }


def message_page(
    request: Request, name: str, lang: str | None, status_code: int, **context: Any
) -> HTMLResponse:
    language = page_language(request, lang)
    return HTMLResponse(
        rendering.render_message_page(name, language, **context),
        status_code=status_code,
        # A notice published a moment later must not be hidden behind a cached 404.
        headers=_headers(language, cache="no-store"),
    )


def not_found(request: Request, lang: str | None) -> HTMLResponse:
    return message_page(request, "not_found", lang, status.HTTP_404_NOT_FOUND)


async def _read(
    reader: NoticeReader, notice_id: str
) -> tuple[TenderSnapshot, list[Revision]] | None:
    # Checked here rather than by a path pattern, so a mangled link gets the friendly 404
    # page, not a 422, and nothing odd (a NUL byte) reaches SQL.
    if not NOTICE_ID_PATTERN.fullmatch(notice_id):
        return None
    return await reader.notice(notice_id)


async def notice_page(
    request: Request,
    notice_id: str,
    reader: NoticeReader,
    settings: NoticesSettings,
    lang: str | None,
    tz: str | None,
) -> HTMLResponse:
    found = await _read(reader, notice_id)
    if found is None:
        return not_found(request, lang)
    tender, revisions = found
    language = page_language(request, lang)
    context = rendering.notice_context(
        tender,
        revisions,
        agency_name=await reader.agency_name(tender.agency),
        language=language,
        zone_name=rendering.reader_zone(tz),
        portal_base_url=settings.portal_base_url,
    )
    return HTMLResponse(
        rendering.render_notice(language, **context),
        headers=_headers(language, cache=PUBLIC_CACHE),
    )


@router.get(
    "/static/notice.css",
    include_in_schema=False,
)
async def stylesheet() -> Response:
    return Response(
        _CSS,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


# Before the page's route: "/notices/{notice_id}" would take "abc.ics" as an id.
@router.get(
    "/notices/{notice_id}.ics",
    summary="A notice's deadline as an iCalendar event",
    response_class=Response,
    responses=CALENDAR_ANSWERS,
)
async def deadline_calendar(
    notice_id: str,
    request: Request,
    reader: Reader,
    settings: Settings,
    lang: Lang = None,
    tz: Zone = None,
) -> Response:
    found = await _read(reader, notice_id)
    if found is None:
        return not_found(request, lang)
    tender, revisions = found
    if tender.status in (TenderStatus.CLOSED, TenderStatus.AWARDED):
        return message_page(request, "gone", lang, status.HTTP_410_GONE, notice_id=tender.tender_id)
    language = page_language(request, lang)
    words = rendering.MESSAGES(language)
    page_url = f"{settings.public_base_url}/notices/{tender.tender_id}?" + rendering.page_query(
        language, rendering.reader_zone(tz)
    )
    body = calendar.deadline_calendar(
        tender,
        page_url=page_url,
        public_base_url=settings.public_base_url,
        stamp=revisions[-1].occurred_at if revisions else tender.published_at,
        summary=rendering.shown_text(tender.title),
        reminder=words.gettext("The deadline for this tender is in 24 hours."),
        description="\n".join(
            (
                rendering.shown_text(f"{tender.agency} {tender.reference}"),
                rendering.shown_text(tender.title),
                page_url,
            )
        ),
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="tender-{tender.tender_id}.ics"',
            "Cache-Control": PUBLIC_CACHE,
            "X-Content-Type-Options": "nosniff",
            "Vary": "Accept-Language",
        },
    )


@router.get(
    "/notices/{notice_id}",
    summary="A notice's public page, in the reader's language and time zone",
    response_class=HTMLResponse,
    responses=PAGE_ANSWERS,
)
async def page(
    notice_id: str,
    request: Request,
    reader: Reader,
    settings: Settings,
    lang: Lang = None,
    tz: Zone = None,
) -> HTMLResponse:
    return await notice_page(request, notice_id, reader, settings, lang, tz)


# Link checkers and mail scanners ask HEAD first: the same page, without its body. Left out
# of the OpenAPI, where a HEAD beside the GET would repeat the GET's operation.
router.add_api_route(
    "/notices/{notice_id}",
    page,
    methods=["HEAD"],
    response_class=HTMLResponse,
    include_in_schema=False,
)
