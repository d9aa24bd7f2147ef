"""The public notice page through the app in process, over an in-memory reader in place of
the database: content negotiation, the seven languages, the reader's zone, hostile fields,
the .ics deadline and the page's weight."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from icalendar import Calendar
from pydantic import AnyHttpUrl

from tenderwire_notices.bootstrap import create_app
from tenderwire_notices.schemas import NoticeView, Revision
from tenderwire_notices.settings import NoticesSettings
from tenderwire_notices.web import pages, rendering
from tenderwire_notices.web.pages import NoticeReader, notice_reader, prefers_html
from tenderwire_shared.events.tenders import (
    TENDER_AMENDED,
    TENDER_CANCELLED,
    TENDER_CLOSED,
    TENDER_PUBLISHED,
    Award,
    Classification,
    Contact,
    Document,
    FieldChange,
    NoticeType,
    TenderSnapshot,
    TenderStatus,
)
from tenderwire_shared.i18n import LANGUAGES
from tenderwire_shared.i18n import catalogs as babel_catalogs

BASE = "http://notices.test"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
PORTAL = "https://portal.example/portal"
PUBLIC = "https://notices.example"
PACKAGE = Path(str(files("tenderwire_notices")))
TRANSLATED = tuple(lang for lang in LANGUAGES if lang != "en")
PUBLISHED_AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
AMENDED_AT = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
DEADLINE = datetime(2027, 1, 15, 16, 0, tzinfo=UTC)  # 17:00 at the agency, UTC+01:00


def a_tender(**overrides: Any) -> TenderSnapshot:
    tender: dict[str, Any] = {
        "tender_id": "t-gowns",
        "revision": 1,
        "status": TenderStatus.PUBLISHED,
        "agency": "UNICEF",
        "reference": "UNICEF-RFQ-2026-0042",
        "title": "Isolation gowns for health centres",
        "description": "Disposable isolation gowns.\n\nLong-term agreement, three years.",
        "language": "en",
        "notice_type": NoticeType.REQUEST_FOR_QUOTATION,
        "unspsc_codes": ("42131606",),
        "cpv_codes": ("33199000",),
        "classifications": (
            Classification(scheme="UNSPSC", code="42131606", description="Isolation gowns"),
            Classification(scheme="CPV", code="33199000-1", description="Medical clothing"),
            Classification(scheme="CPVS", code="TA10", description="Disposable"),
        ),
        "beneficiary_countries": ("SEN", "MLI"),
        "deadline": DEADLINE,
        "deadline_utc_offset_minutes": 60,
        "published_at": PUBLISHED_AT,
        "documents": (
            Document(title="Terms of reference", url=AnyHttpUrl("https://unicef.example/tor.pdf")),
        ),
        "contacts": (
            Contact(name="Procurement unit", email="supply@unicef.example", phone="+221338891234"),
        ),
        "url": AnyHttpUrl(f"{PUBLIC}/v1/notices/t-gowns"),
    }
    return TenderSnapshot.model_validate({**tender, **overrides})


PUBLISHED = Revision(
    revision=1, event_type=TENDER_PUBLISHED, reason=None, changes=[], occurred_at=PUBLISHED_AT
)


def amended(tender: TenderSnapshot) -> tuple[TenderSnapshot, list[Revision]]:
    later = DEADLINE + timedelta(days=7)
    changes = [
        FieldChange(field="deadline", before=DEADLINE.isoformat(), after=later.isoformat()),
        FieldChange(field="beneficiary_countries", before=["SEN", "MLI"], after=["SEN"]),
    ]
    revision = Revision(
        revision=2,
        event_type=TENDER_AMENDED,
        reason="Extended at suppliers' request",
        changes=changes,
        occurred_at=AMENDED_AT,
    )
    new = tender.model_copy(
        update={
            "revision": 2,
            "status": TenderStatus.AMENDED,
            "deadline": later,
            "beneficiary_countries": ("SEN",),
        }
    )
    return new, [PUBLISHED, revision]


def cancelled(tender: TenderSnapshot) -> tuple[TenderSnapshot, list[Revision]]:
    revision = Revision(
        revision=2,
        event_type=TENDER_CANCELLED,
        reason="Requirement withdrawn",
        changes=[],
        occurred_at=AMENDED_AT,
    )
    new = tender.model_copy(
        update={
            "revision": 2,
            "status": TenderStatus.CANCELLED,
            "cancellation_reason": "Requirement withdrawn",
        }
    )
    return new, [PUBLISHED, revision]


class FakeReader(NoticeReader):
    """The notices a test put here; nothing else exists."""

    def __init__(self) -> None:
        super().__init__(conn=None, public_base_url=PUBLIC)  # type: ignore[arg-type]
        self.notices: dict[str, tuple[TenderSnapshot, list[Revision]]] = {}
        self.agencies = {"UNICEF": "United Nations Children's Fund"}

    def put(self, tender: TenderSnapshot, revisions: list[Revision] | None = None) -> None:
        self.notices[tender.tender_id] = (tender, revisions or [PUBLISHED])

    async def notice(self, notice_id: str) -> tuple[TenderSnapshot, list[Revision]] | None:
        return self.notices.get(notice_id)

    async def agency_name(self, agency: str) -> str | None:
        return self.agencies.get(agency)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(NoticesSettings(public_base_url=PUBLIC, portal_base_url=PORTAL))


@pytest.fixture
def reader(app: FastAPI) -> FakeReader:
    fake = FakeReader()
    fake.put(a_tender())
    app.dependency_overrides = {notice_reader: lambda: fake}
    return fake


@pytest_asyncio.fixture
async def http(app: FastAPI, reader: FakeReader) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield client


_BLOCKS = frozenset({"p", "li", "dt", "dd", "h1", "h2", "div", "option", "label", "br", "title"})


class _Text(HTMLParser):
    """A page's visible text as a reader sees it: one line per block, inline markup
    (<bdi>, <strong>) run into its sentence."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    # CLDR's times and numbers use no-break spaces ("4:00\u202fPM", "125\u202f000,50").
    text = "".join(parser.chunks).replace("\u202f", " ").replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# --- negotiation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("application/json, text/html", False),  # a tie keeps JSON, as it always was
        ("text/html;q=0.5, application/json", False),
        ("application/*", False),
        (BROWSER, True),
        ("text/html", True),
        ("text/*", True),
        ("text/html, application/json;q=0.9", True),
        ("application/json;q=0, text/html;q=0.1", True),
        ("text/html;q=bogus, */*", False),
        ("garbage;;;,,,", False),
    ],
)
def test_html_only_for_clients_that_prefer_it(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


async def test_a_browser_gets_the_page_and_an_api_client_the_same_json_as_before(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    tender, revisions = reader.notices["t-gowns"]
    page = await http.get("/v1/notices/t-gowns", headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Accept" in page.headers["vary"]
    assert "<h1><bdi>Isolation gowns for health centres</bdi></h1>" in page.text

    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        answer = await http.get("/v1/notices/t-gowns", headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["vary"] == "Accept"
        assert answer.json() == NoticeView.of(tender, revisions=revisions).model_dump(mode="json")


async def test_an_unknown_notice_is_a_localized_page_for_a_browser_and_json_for_the_api(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get(
        "/v1/notices/nothing-here", headers={"Accept": BROWSER, "Accept-Language": "fr"}
    )
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert rendering.MESSAGES("fr").gettext("Notice not found") in page.text
    assert page.headers["content-language"] == "fr"

    api = await http.get("/v1/notices/nothing-here")
    assert api.status_code == 404
    assert api.json()["detail"][0]["type"] == "not_found"
    assert api.json()["detail"][0]["loc"] == ["path", "notice_id"]


@pytest.mark.parametrize(
    "path",
    [
        "/notices/nothing-here",
        "/notices/" + "x" * 65,
        "/notices/%3Cscript%3E",
        "/notices/a.b",
        "/notices/nothing-here.ics",
        "/notices/%E2%80%AEevil.ics",
    ],
)
async def test_an_unknown_or_malformed_id_is_the_404_page(
    http: httpx.AsyncClient, path: str
) -> None:
    answer = await http.get(path, headers={"Accept-Language": "es"})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert rendering.MESSAGES("es").gettext("Notice not found") in answer.text
    assert "<script>" not in answer.text
    assert answer.headers["cache-control"] == "no-store"


async def test_the_plain_html_url_answers_get_and_head_with_the_security_headers(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/notices/t-gowns")
    assert page.status_code == 200
    head = await http.head("/notices/t-gowns")
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/html")
    for answer in (page, head):
        for name, value in pages.SECURITY_HEADERS.items():
            assert answer.headers[name] == value
        assert answer.headers["cache-control"] == "public, max-age=60"
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert "<style" not in page.text
    assert "<script" not in page.text
    assert ' style="' not in page.text


async def test_the_stylesheet_is_served(http: httpx.AsyncClient) -> None:
    css = await http.get("/static/notice.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ".banner-cancelled" in css.text


# --- what the page shows ----------------------------------------------------------------------


async def test_the_page_shows_every_part_of_the_notice(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    page = (await http.get("/notices/t-gowns")).text
    text = visible_text(page)
    for shown in (
        "Isolation gowns for health centres",
        "Long-term agreement, three years.",
        "Request for quotation",
        "United Nations Children's Fund",
        "UNICEF-RFQ-2026-0042",
        "Terms of reference",
        "Procurement unit",
        "supply@unicef.example",
        "+221338891234",
        "Senegal",
        "Mali",
        "UNSPSC 42131606",
        "Isolation gowns",
        "CPV 33199000",
        "Medical clothing",
        "CPVS TA10",
        "Disposable",
        "Open",
        "Revision history",
        "Published",
    ):
        assert shown in text, shown
    assert 'href="https://unicef.example/tor.pdf"' in page
    assert 'href="mailto:supply@unicef.example"' in page
    assert f'href="{PORTAL}/follow/t-gowns?lang=en"' in page
    assert 'href="/notices/t-gowns.ics?lang=en&amp;tz=UTC"' in page


async def test_the_deadline_in_the_readers_zone_and_the_agencys_with_its_offset(
    http: httpx.AsyncClient,
) -> None:
    page = visible_text((await http.get("/notices/t-gowns", params={"tz": "Asia/Kolkata"})).text)
    # 16:00 UTC is 21:30 in Kolkata, 17:00 at the agency (UTC+01:00).
    assert "Friday, January 15, 2027, 9:30 PM" in page
    assert "Your time zone: India, UTC+05:30" in page
    assert "Friday, January 15, 2027, 5:00 PM" in page
    assert "UTC+01:00" in page


@pytest.mark.parametrize(
    "tz", ["Mars/Olympus_Mons", "../../etc/passwd", "", "x" * 5000, "<script>", "utc "]
)
async def test_a_bad_zone_is_ignored_for_utc(http: httpx.AsyncClient, tz: str) -> None:
    answer = await http.get("/notices/t-gowns", params={"tz": tz})
    assert answer.status_code == 200
    assert "Friday, January 15, 2027, 4:00 PM" in visible_text(answer.text)
    assert "Your time zone: Coordinated Universal Time, UTC+00:00" in visible_text(answer.text)
    assert "<script>" not in answer.text


@pytest.mark.parametrize(
    ("params", "headers", "expected"),
    [
        ({"lang": "fr"}, {}, "fr"),
        ({"lang": "pt-BR"}, {"Accept-Language": "ru"}, "pt"),
        ({"lang": "xx"}, {"Accept-Language": "ru, en;q=0.5"}, "ru"),
        ({"lang": "<b>" * 1000}, {}, "en"),
        ({}, {"Accept-Language": "zh-CN,zh;q=0.9"}, "zh"),
        ({}, {"Accept-Language": "de-DE"}, "en"),
        ({}, {}, "en"),
    ],
)
async def test_the_language_is_the_links_then_the_browsers_then_english(
    http: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str], expected: str
) -> None:
    answer = await http.get("/notices/t-gowns", params=params, headers=headers)
    assert answer.status_code == 200
    assert f'<html lang="{expected}"' in answer.text
    assert answer.headers["content-language"] == expected


async def test_the_form_changes_zone_and_language_without_script(http: httpx.AsyncClient) -> None:
    page = (await http.get("/notices/t-gowns", params={"tz": "Pacific/Chatham"})).text
    assert '<form method="get" class="reader">' in page
    assert '<option value="Pacific/Chatham" selected>' in page
    assert '<option value="Africa/Dakar">' in page
    assert '<option value="ar" lang="ar">العربية</option>' in page


async def test_an_amended_tender_says_so_at_the_top_and_lists_each_change(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    reader.put(*amended(a_tender()))
    page = (await http.get("/notices/t-gowns")).text
    banner = page.index('class="banner banner-amended"')
    assert banner < page.index("<h1>")
    text = visible_text(page)
    assert "This notice has been amended." in text
    assert "Last amended on Wednesday, November 25, 2026, 2:00 PM" in text
    assert "Extended at suppliers' request" in text
    assert "Before: Friday, January 15, 2027, 4:00 PM" in text
    assert "After: Friday, January 22, 2027, 4:00 PM" in text
    assert "Before: Senegal and Mali" in text
    assert "Revision 2" in text
    # Newest first.
    assert text.index("Revision 2") < text.index("Revision 1")


async def test_a_cancelled_tender_says_so_with_its_reason_and_offers_no_follow(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    reader.put(*cancelled(a_tender()))
    page = (await http.get("/notices/t-gowns", params={"lang": "es"})).text
    words = rendering.MESSAGES("es")
    assert page.index('class="banner banner-cancelled" role="alert"') < page.index("<h1>")
    assert words.gettext("This tender has been cancelled.") in page
    assert "Requirement withdrawn" in page
    assert "/follow/" not in page
    assert ".ics" not in page


async def test_an_awarded_tender_shows_its_award(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    award = Award(
        supplier_name="Sahel Medical Supplies SARL",
        supplier_country="SEN",
        amount=Decimal("125000.50"),
        currency="USD",
        date=datetime(2027, 2, 1, tzinfo=UTC).date(),
    )
    reader.put(a_tender(status=TenderStatus.AWARDED, revision=3, award=award))
    text = visible_text((await http.get("/notices/t-gowns", params={"lang": "fr"})).text)
    assert "Sahel Medical Supplies SARL" in text
    assert "125 000,50 $US" in text
    assert "1 février 2027" in text


async def test_a_notice_with_no_country_is_for_multiple_destinations(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    reader.put(a_tender(beneficiary_countries=()))
    text = visible_text((await http.get("/notices/t-gowns")).text)
    assert "Multiple or unspecified destinations" in text


# --- hostile fields ---------------------------------------------------------------------------


async def test_hostile_fields_are_escaped_and_cannot_reverse_the_page(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    reader.put(
        a_tender(
            title='<script>alert(1)</script>\u202egnp.exe" onload="x',
            description="<img src=x onerror=alert(1)>\u2066" + "word " * 4000,
            reference="R-\u202e1",
            contacts=(Contact(name="<b>bold</b>", email="a@b.example"),),
            documents=(
                Document(title="<i>doc</i>", url=AnyHttpUrl('https://x.example/a?b=<c>&d="e"')),
            ),
            classifications=(
                Classification(scheme="<SCHEME>", code="<1>", description="</ul><script>"),
            ),
            cancellation_reason=None,
        )
    )
    answer = await http.get("/notices/t-gowns", headers={"Accept": BROWSER})
    assert answer.status_code == 200
    page = answer.text
    assert "<script" not in page
    assert "<img" not in page
    assert "<b>bold" not in page
    assert "<i>doc" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'onload="x' not in page
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", page)
    assert "word word" in page


# --- every language ---------------------------------------------------------------------------


def test_every_catalog_is_complete_current_and_compiled() -> None:
    assert babel_catalogs.check(babel_catalogs.CatalogSource(PACKAGE)) == []


def english_messages() -> list[str]:
    """Every English message of the pages, up to its first placeholder (what can be found of
    it on a page as it stands)."""
    source = babel_catalogs.extract(babel_catalogs.CatalogSource(PACKAGE))
    starts = {re.split(r"%\(\w+\)s", str(m.id))[0].strip() for m in source if m.id}
    return sorted(m for m in starts if len(m) > 3)


def the_same_in(language: str) -> set[str]:
    """The messages whose translation is the English word itself ("Description" in French)."""
    catalog = babel_catalogs.read_catalog(
        babel_catalogs.CatalogSource(PACKAGE).po_path(language), language
    )
    return {str(m.id) for m in catalog if m.id and m.string == m.id}


def english_left(text: str, language: str) -> list[str]:
    allowed = the_same_in(language)
    return [
        m
        for m in english_messages()
        if m not in allowed and re.search(rf"(?<!\w){re.escape(m)}(?!\w)", text)
    ]


_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


@pytest.mark.parametrize(
    "template",
    sorted(p.name for p in (PACKAGE / "templates" / "pages").glob("*.html")),
)
def test_templates_say_nothing_outside_gettext(template: str) -> None:
    source = (PACKAGE / "templates" / "pages" / template).read_text()
    left = _TAG.sub(" ", _JINJA.sub(" ", source))
    assert not re.search(r"[^\W\d_]", left), f"words outside gettext: {left.split()}"


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("state", ["published", "amended", "cancelled", "awarded", "not found"])
async def test_every_language_renders_with_no_english_left(
    http: httpx.AsyncClient, reader: FakeReader, language: str, state: str
) -> None:
    # The tender's own words are the agency's; these carry none of the page's English.
    tender = a_tender(
        title="Ñandutí 42",
        description="",
        reference="R-42",
        documents=(Document(title="TDR-42", url=AnyHttpUrl("https://unicef.example/tor.pdf")),),
        contacts=(Contact(name="Ñ. Ñandú", email="n@unicef.example"),),
        classifications=(),
    )
    if state == "amended":
        reader.put(*amended(tender))
    elif state == "cancelled":
        reader.put(*cancelled(tender))
    elif state == "awarded":
        award = Award(
            supplier_name="Ñandú SARL",
            supplier_country="SEN",
            amount=Decimal("10"),
            currency="XOF",
            date=datetime(2027, 2, 1, tzinfo=UTC).date(),
        )
        reader.put(tender.model_copy(update={"status": TenderStatus.AWARDED, "award": award}))
    else:
        reader.put(tender)
    reader.agencies.clear()
    path = "/notices/none" if state == "not found" else "/notices/t-gowns"
    answer = await http.get(path, params={"lang": language, "tz": "Africa/Dakar"})
    assert answer.status_code == (404 if state == "not found" else 200)
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in answer.text
    text = visible_text(answer.text)
    assert english_left(text, language) == []


async def test_arabic_reads_right_to_left_with_codes_kept_left_to_right(
    http: httpx.AsyncClient,
) -> None:
    page = (await http.get("/notices/t-gowns", params={"lang": "ar"})).text
    assert '<html lang="ar" dir="rtl">' in page
    assert '<bdi dir="ltr">UNICEF-RFQ-2026-0042</bdi>' in page
    assert '<bdi dir="ltr">UNSPSC 42131606</bdi>' in page
    assert "السنغال" in page


# --- the calendar -----------------------------------------------------------------------------


async def test_an_open_tender_has_an_ics_event_at_its_deadline_with_a_reminder(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    reader.put(*amended(a_tender()))
    answer = await http.get("/notices/t-gowns.ics", params={"lang": "fr", "tz": "Africa/Dakar"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    calendar = Calendar.from_ical(answer.content)
    [event] = calendar.walk("VEVENT")
    assert str(calendar["version"]) == "2.0"
    assert event.decoded("dtstart") == DEADLINE + timedelta(days=7)
    assert str(event["summary"]) == "Isolation gowns for health centres"
    assert str(event["url"]) == f"{PUBLIC}/notices/t-gowns?lang=fr&tz=Africa%2FDakar"
    assert str(event["uid"]) == "tender-t-gowns@notices.example"
    assert event.decoded("sequence") == 2
    assert str(event["status"]) == "CONFIRMED"
    [alarm] = event.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY"
    assert alarm.decoded("trigger") == -timedelta(days=1)
    assert str(alarm["description"]) == rendering.MESSAGES("fr").gettext(
        "The deadline for this tender is in 24 hours."
    )
    # The same revision gives the same file, so calendars see no change that is not one.
    again = await http.get("/notices/t-gowns.ics", params={"lang": "fr", "tz": "Africa/Dakar"})
    assert again.content == answer.content


async def test_a_cancelled_tenders_ics_cancels_the_same_event(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    first = Calendar.from_ical((await http.get("/notices/t-gowns.ics")).content)
    reader.put(*cancelled(a_tender()))
    answer = await http.get("/notices/t-gowns.ics")
    assert answer.status_code == 200
    [before] = first.walk("VEVENT")
    [event] = Calendar.from_ical(answer.content).walk("VEVENT")
    assert str(event["uid"]) == str(before["uid"])
    assert event.decoded("sequence") > before.decoded("sequence")
    assert str(event["status"]) == "CANCELLED"
    assert event.walk("VALARM") == []


@pytest.mark.parametrize("status", [TenderStatus.CLOSED, TenderStatus.AWARDED])
async def test_a_closed_or_awarded_tenders_ics_is_gone(
    http: httpx.AsyncClient, reader: FakeReader, status: TenderStatus
) -> None:
    closed = Revision(
        revision=2, event_type=TENDER_CLOSED, reason=None, changes=[], occurred_at=DEADLINE
    )
    reader.put(a_tender(status=status, revision=2), [PUBLISHED, closed])
    answer = await http.get("/notices/t-gowns.ics", headers={"Accept-Language": "ru"})
    assert answer.status_code == 410
    assert answer.headers["content-type"].startswith("text/html")
    assert rendering.MESSAGES("ru").gettext("This tender is closed") in answer.text
    page = (await http.get("/notices/t-gowns")).text
    assert ".ics" not in page


async def test_hostile_text_stays_inside_its_ics_property(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    reader.put(a_tender(title="Gowns\u202e\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:forged; x,y"))
    answer = await http.get("/notices/t-gowns.ics")
    [event] = Calendar.from_ical(answer.content).walk("VEVENT")
    # One property still, line breaks and all (as iCalendar writes them, \n); no override.
    assert str(event["summary"]) == "Gowns\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:forged; x,y"
    assert answer.text.splitlines().count("BEGIN:VEVENT") == 1


# --- weight -----------------------------------------------------------------------------------


async def test_the_page_and_its_stylesheet_weigh_under_100_kb(
    http: httpx.AsyncClient, reader: FakeReader
) -> None:
    reader.put(*amended(a_tender()))
    page = await http.get("/notices/t-gowns", params={"lang": "ar", "tz": "Asia/Amman"})
    css = await http.get("/static/notice.css")
    weight = len(page.content) + len(css.content)
    assert weight < 100 * 1024, weight
