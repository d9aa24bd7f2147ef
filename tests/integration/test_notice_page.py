"""The public notice page over the real stack (notices on PostgreSQL, publishing to Kafka): a
tender published, amended and cancelled through the notices API reads as a page in a
browser, while the API's clients still read JSON; and in Chromium the page fits a phone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar
from playwright.async_api import async_playwright

from tenderwire_notices.web.rendering import MESSAGES
from tests.support.browser import BROWSER_WAIT_MS, CHROMIUM_ARGS, chromium_or_skip
from tests.support.notices_api import Agency, in_days
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice

pytestmark = pytest.mark.integration

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "notices"


async def amended_tender(
    agency: Agency,
    reason: str = "Deadline extended at the suppliers' request",
    **overrides: str | list[str],
) -> dict[str, object]:
    published = await agency.publish(
        a_notice(deadline=in_days(20), beneficiary_countries=["SN", "ML"], **overrides)
    )
    assert published.status_code == 201, published.text
    notice_id = published.json()["id"]
    amended = await agency.amend(
        notice_id,
        {
            "reason": reason,
            "deadline": in_days(27),
            "beneficiary_countries": ["SN"],
        },
    )
    assert amended.status_code == 200, amended.text
    body: dict[str, object] = amended.json()
    return body


async def test_a_tender_published_amended_and_cancelled_reads_as_a_page_and_as_json(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notices is not None
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    tender = await amended_tender(agency)
    notice_id = str(tender["id"])
    api_url = f"{platform.notices.url}/v1/notices/{notice_id}"

    page = await http.get(api_url, headers={"Accept": BROWSER, "Accept-Language": "fr-FR,fr"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Accept" in page.headers["vary"]
    assert '<html lang="fr" dir="ltr">' in page.text
    words = MESSAGES("fr")
    assert words.gettext("This notice has been amended.") in page.text
    assert "Deadline extended at the suppliers&#39; request" in page.text
    assert words.gettext("Revision %(number)s") % {"number": 2} in page.text
    assert words.gettext("Revision %(number)s") % {"number": 1} in page.text
    assert words.pgettext("revision", "Published") in page.text
    assert words.pgettext("revision", "Amended") in page.text
    assert "Mali" in page.text  # the countries before the amendment, in its history

    as_json = await http.get(api_url)
    assert as_json.headers["content-type"] == "application/json"
    body = as_json.json()
    assert body["status"] == "amended"
    assert [r["revision"] for r in body["revisions"]] == [1, 2]
    assert (await http.get(api_url, headers={"Accept": "application/json"})).json() == body

    plain = await http.get(f"{platform.notices.url}/notices/{notice_id}", params={"lang": "ar"})
    assert plain.status_code == 200
    assert '<html lang="ar" dir="rtl">' in plain.text

    ics = await http.get(f"{platform.notices.url}/notices/{notice_id}.ics")
    assert ics.status_code == 200
    [event] = Calendar.from_ical(ics.content).walk("VEVENT")
    assert event.decoded("sequence") == 2
    assert str(event["status"]) == "CONFIRMED"

    cancelled = await agency.cancel(notice_id, "Requirement withdrawn by the programme")
    assert cancelled.status_code == 200, cancelled.text
    page = await http.get(api_url, headers={"Accept": BROWSER, "Accept-Language": "es"})
    words = MESSAGES("es")
    assert words.gettext("This tender has been cancelled.") in page.text
    assert page.text.index("banner-cancelled") < page.text.index("<h1>")
    assert "Requirement withdrawn by the programme" in page.text
    assert words.gettext("Revision %(number)s") % {"number": 3} in page.text
    assert (await http.get(api_url)).json()["status"] == "cancelled"
    [event] = Calendar.from_ical(
        (await http.get(f"{platform.notices.url}/notices/{notice_id}.ics")).content
    ).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"
    assert event.decoded("sequence") == 3


async def test_an_unknown_notice_is_a_page_for_a_browser_and_json_for_the_api(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notices is not None
    api_url = f"{platform.notices.url}/v1/notices/no-such-notice"
    page = await http.get(api_url, headers={"Accept": BROWSER, "Accept-Language": "ru"})
    assert page.status_code == 404
    assert MESSAGES("ru").gettext("Notice not found") in page.text
    api = await http.get(api_url)
    assert api.status_code == 404
    assert api.json()["detail"][0]["type"] == "not_found"


@pytest.mark.parametrize("language", ["fr", "ar"])
async def test_in_chromium_an_amended_notice_page_fits_a_phone(
    platform: Platform, http: httpx.AsyncClient, tmp_path: Path, language: str
) -> None:
    executable = chromium_or_skip()
    assert platform.notices is not None
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    tender = await amended_tender(
        agency,
        reason={
            "fr": "Date limite prolongée à la demande des fournisseurs",
            "ar": "تمديد الموعد النهائي بناءً على طلب الموردين",
        }[language],
        title={
            "fr": "Blouses d'isolement pour les centres de santé des régions du nord",
            "ar": "توريد أردية العزل للمراكز الصحية في المحافظات الشمالية",
        }[language],
        description={
            "fr": "Accord à long terme pour la fourniture de blouses d'isolement jetables,"
            " livrées aux centres de santé de district.",
            "ar": "اتفاق طويل الأجل لتوريد أردية عزل تستعمل مرة واحدة إلى المراكز الصحية.",
        }[language],
    )
    zone = {"fr": "Africa/Dakar", "ar": "Asia/Amman"}[language]
    # The alert's link, as notify writes it, opened by a browser: negotiation gives the page.
    url = f"{platform.notices.url}/v1/notices/{tender['id']}?lang={language}&tz={zone}"
    shot = tmp_path / "notice-page-phone.png"
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await chromium.new_page(viewport={"width": 360, "height": 640})
            page.set_default_timeout(BROWSER_WAIT_MS)
            blocked: list[str] = []
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security" in m.text else None,
            )
            answer = await page.goto(url)
            assert answer is not None
            assert answer.status == 200
            width = await page.evaluate("document.scrollingElement.scrollWidth")
            direction = await page.evaluate("getComputedStyle(document.body).direction")
            # The stylesheet applied (no inline style is allowed): the banner has its colour.
            banner_border = await page.locator(".banner-amended").evaluate(
                "e => getComputedStyle(e).borderInlineStartWidth"
            )
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await chromium.close()

    assert width <= 360, f"sideways scrolling on a phone: {width}px"
    assert direction == ("rtl" if language == "ar" else "ltr")
    assert banner_border == "6px"
    assert blocked == []
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("TW_UPDATE_SCREENSHOTS") == "1" and language == "fr":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / shot.name)
