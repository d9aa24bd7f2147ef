"""The portal's preferences over the real stack (notices, matching and notify in-process, real
Kafka and PostgreSQL): a supplier registered through the API and signed in by a session row
changes its preferences through the forms and the API shows them; a tender's item description
becomes a code title the picker finds by a word; the private Atom feed lists the match; the
alerts page renders with notify behind it; and `tw codes load` brings in a licensed list."""

from __future__ import annotations

import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tenderwire_matching.portal import repository as portal_repository
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, seen_by_matching, unique
from tests.support.notices_api import Agency
from tests.support.platform import Platform
from tests.support.tw_cli import run_tw

pytestmark = pytest.mark.integration

ATOM = {"a": "http://www.w3.org/2005/Atom"}


@pytest_asyncio.fixture
async def agency(platform: Platform, http: httpx.AsyncClient) -> Agency:
    code, key = await platform.new_agency()
    return Agency(http, platform, code, key)


class SignedIn:
    """A browser signed in as one supplier: its session cookie and the form token."""

    def __init__(self, client: httpx.AsyncClient, supplier: dict[str, Any]) -> None:
        self.client = client
        self.supplier = supplier

    async def form_token(self, path: str = "/portal/preferences") -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text[:2000]
        found = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)

    async def post(self, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
        token = await self.form_token()
        return await self.client.post(path, data=dict([("form_token", token), *fields]))

    async def post_many(self, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
        from urllib.parse import urlencode

        token = await self.form_token()
        return await self.client.post(
            path,
            content=urlencode([("form_token", token), *fields]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def profile(self, platform: Platform) -> dict[str, Any]:
        assert platform.matching is not None
        answer = await self.client.get(
            f"{platform.matching.url}/v1/suppliers/{self.supplier['id']}",
            headers={"Authorization": f"Bearer {self.supplier['token']}"},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest_asyncio.fixture
async def signed_in(platform: Platform, http: httpx.AsyncClient) -> AsyncIterator[SignedIn]:
    supplier = await register(http, platform, timezone="Africa/Dakar", language="en")
    token = secrets.token_urlsafe(32)
    conn = await asyncpg.connect(platform.dsns["matching"])
    try:
        await portal_repository.start_session(
            conn, token, supplier["id"], datetime.now(UTC) + timedelta(hours=1)
        )
    finally:
        await conn.close()
    assert platform.matching is not None
    async with httpx.AsyncClient(
        base_url=platform.matching.url, cookies={"tw_portal_session": token}, timeout=10.0
    ) as client:
        yield SignedIn(client, supplier)


async def test_preferences_changed_through_the_forms_are_the_suppliers_profile(
    platform: Platform, signed_in: SignedIn
) -> None:
    language = await signed_in.post(
        "/portal/preferences/language", [("language", "en"), ("timezone", "America/Lima")]
    )
    delivery = await signed_in.post(
        "/portal/preferences/delivery",
        [
            ("delivery", "daily_digest"),
            ("digest_hour", "7"),
            ("quiet", "on"),
            ("quiet_start", "22:00"),
            ("quiet_end", "06:30"),
        ],
    )
    filters = await signed_in.post_many(
        "/portal/preferences/filters",
        [
            ("beneficiary_countries", "SEN"),
            ("beneficiary_countries", "MLI"),
            ("agencies", "unicef undp"),
            ("notice_types", "request_for_quotation"),
            ("keywords", "blouses\ngowns"),
        ],
    )
    assert [r.status_code for r in (language, delivery, filters)] == [303, 303, 303]

    profile = await signed_in.profile(platform)
    assert profile["timezone"] == "America/Lima"
    assert (profile["delivery"], profile["digest_hour"]) == ("daily_digest", 7)
    assert profile["quiet_hours"] == {"start": "22:00", "end": "06:30"}
    assert profile["beneficiary_countries"] == ["SEN", "MLI"]
    assert profile["agencies"] == ["UNICEF", "UNDP"]
    assert profile["notice_types"] == ["request_for_quotation"]
    assert profile["keywords"] == ["blouses", "gowns"]
    version = profile["version"]

    refused = await signed_in.post(
        "/portal/preferences/language", [("language", "en"), ("timezone", "Mars/Olympus")]
    )
    assert refused.status_code == 422
    assert "Choose a time zone from the list." in refused.text
    unchanged = await signed_in.profile(platform)
    assert (unchanged["timezone"], unchanged["version"]) == ("America/Lima", version)

    # Last, since the portal's own catalogs are compiled after merge: the page would then
    # speak Spanish, and here only the registry is asked.
    spanish = await signed_in.post(
        "/portal/preferences/language", [("language", "es"), ("timezone", "America/Lima")]
    )
    assert spanish.status_code == 303
    assert (await signed_in.profile(platform))["language"] == "es"


async def matching_db(platform: Platform) -> asyncpg.Connection:
    return await asyncpg.connect(platform.dsns["matching"])


async def test_a_notices_item_description_becomes_a_title_the_picker_finds(
    platform: Platform, signed_in: SignedIn, agency: Agency
) -> None:
    word = unique("Surblouses").replace("-", "")
    notice = await publish(
        agency,
        language="fr",
        classifications=[
            {"scheme": "UNSPSC", "code": "42131606", "description": f"{word} d'isolement jetables"},
            {"scheme": "CPV", "code": "33199000-1", "description": f"{word} médicaux"},
        ],
    )
    await seen_by_matching(platform, notice["id"], 1)

    found = await signed_in.client.get("/portal/codes", params={"q": word.upper()})
    assert found.status_code == 200
    results = found.text.split('id="search"')[1].split('id="browse"')[0]
    assert "42131606" in results
    assert f"{word} d&#39;isolement jetables" in results
    cpv = await signed_in.client.get("/portal/codes", params={"q": word, "scheme": "cpv"})
    assert "33199000" in cpv.text.split('id="search"')[1]

    # Browse down to it, one level at a time.
    top = await signed_in.client.get("/portal/codes")
    assert "under=42000000" in top.text
    segment = await signed_in.client.get("/portal/codes", params={"under": "42000000"})
    assert "under=42130000" in segment.text
    family = await signed_in.client.get("/portal/codes", params={"under": "42130000"})
    assert "under=42131600" in family.text
    klass = await signed_in.client.get("/portal/codes", params={"under": "42131600"})
    assert f"{word} d&#39;isolement jetables" in klass.text.split('id="browse"')[1]
    cpv_top = await signed_in.client.get("/portal/codes", params={"scheme": "cpv"})
    assert "under=33000000" in cpv_top.text
    cpv_group = await signed_in.client.get(
        "/portal/codes", params={"scheme": "cpv", "under": "33100000"}
    )
    assert "under=33190000" in cpv_group.text

    added = await signed_in.post(
        "/portal/codes/add", [("scheme", "cpv"), ("code", "33199000"), ("q", word)]
    )
    assert added.status_code == 303
    assert (await signed_in.profile(platform))["cpv_codes"] == ["33199000"]


async def test_the_private_feed_lists_the_match_and_a_wrong_token_is_404(
    platform: Platform, signed_in: SignedIn, agency: Agency
) -> None:
    notice = await publish(agency, title='Isolation gowns & "AAMI" aprons for clinics')
    await seen_by_matching(platform, notice["id"], 1)

    turned_on = await signed_in.post("/portal/preferences/feed", [("action", "renew")])
    assert turned_on.status_code == 303
    page = await signed_in.client.get("/portal/preferences")
    found = re.search(r'value="(http[^"]+/portal/feed/([^"/]+)\.atom)"', page.text)
    assert found is not None
    feed_path = f"/portal/feed/{found.group(2)}.atom"

    async with httpx.AsyncClient(base_url=str(signed_in.client.base_url)) as reader:
        answer = await reader.get(feed_path)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/atom+xml")
        root = ET.fromstring(answer.content)  # noqa: S314 - our own document, in a test
        entries = root.findall("a:entry", ATOM)
        titles = [e.findtext("a:title", namespaces=ATOM) for e in entries]
        assert 'New tender: Isolation gowns & "AAMI" aprons for clinics' in titles
        (entry,) = [
            e for e in entries if "aprons" in (e.findtext("a:title", namespaces=ATOM) or "")
        ]
        link = entry.find("a:link", ATOM)
        assert link is not None
        assert platform.notices is not None
        assert link.get("href") == f"{platform.notices.url}/v1/notices/{notice['id']}"
        assert (await reader.get("/portal/feed/not-a-feed-token.atom")).status_code == 404

        renewed = await signed_in.post("/portal/preferences/feed", [("action", "renew")])
        assert renewed.status_code == 303
        assert (await reader.get(feed_path)).status_code == 404


async def test_the_alerts_page_renders_with_notify_behind_it(
    platform: Platform, signed_in: SignedIn, http: httpx.AsyncClient
) -> None:
    assert platform.notify is not None
    document = (await http.get(f"{platform.notify.url}/openapi.json")).json()
    page = await signed_in.client.get("/portal/alerts")
    assert page.status_code == 200
    if "/v1/suppliers/{supplier_id}/alerts" in document["paths"]:
        assert "Your last 50 alerts" in page.text
        assert "not available right now" not in page.text
    else:
        # This notify has no portal API yet: the page says so instead of failing.
        assert "Your alert history is not available right now" in page.text


async def test_tw_codes_loads_a_licensed_list_and_the_picker_shows_its_titles(
    platform: Platform, signed_in: SignedIn, tmp_path: Path
) -> None:
    word = unique("Licensedword").replace("-", "")
    listing = tmp_path / "unspsc.csv"
    listing.write_text(
        "code,title,language\n"
        f"43211500,{word} computers,en\n"
        f"43211500,Ordinateurs {word},fr\n"
        "4321,too short,en\n"
        f"43211501,{word} servers,klingon\n",
        encoding="utf-8",
    )
    code, out, err = await run_tw(
        "codes", "load", "--scheme", "unspsc", str(listing), "--json", env=platform.operator_env()
    )
    assert code == 3, err
    report = json.loads(out)
    assert report["loaded"] == 2
    assert [row["line"] for row in report["refused"]] == [4, 5]

    code, out, err = await run_tw("codes", "status", "--json", env=platform.operator_env())
    assert code == 0, err
    licensed = [r for r in json.loads(out) if (r["scheme"], r["source"]) == ("unspsc", "licensed")]
    assert licensed[0]["codes"] >= 1
    assert set(licensed[0]["languages"]) >= {"en", "fr"}

    page = await signed_in.client.get("/portal/codes", params={"q": word})
    assert f"{word} computers" in page.text

    missing = await run_tw(
        "codes",
        "load",
        "--scheme",
        "unspsc",
        str(tmp_path / "nope.csv"),
        env=platform.operator_env(),
    )
    assert missing[0] == 2
    bad_scheme = await run_tw(
        "codes", "load", "--scheme", "naics", str(listing), env=platform.operator_env()
    )
    assert bad_scheme[0] == 2


async def test_titles_are_counted_once_per_tender_even_when_matching_replays(
    platform: Platform, agency: Agency
) -> None:
    word = unique("Countedonce").replace("-", "")
    notice = await publish(
        agency,
        classifications=[{"scheme": "UNSPSC", "code": "42131606", "description": word}],
    )
    await seen_by_matching(platform, notice["id"], 1)
    await platform.restart_matching_from_earliest()
    await platform.wait_for_matching_to_catch_up()

    async def seen() -> int:
        conn = await matching_db(platform)
        try:
            value = await conn.fetchval("SELECT seen FROM code_titles WHERE title = $1", word)
        finally:
            await conn.close()
        return int(value or 0)

    assert await eventually(seen, until=lambda n: n >= 1) == 1


async def test_in_chromium_at_360_px_each_page_fits_the_screen_and_obeys_its_csp(
    platform: Platform, signed_in: SignedIn, agency: Agency, http: httpx.AsyncClient
) -> None:
    from playwright.async_api import async_playwright

    from tests.support.browser import BROWSER_WAIT_MS, CHROMIUM_ARGS, chromium_or_skip

    executable = chromium_or_skip()
    notice = await publish(
        agency,
        classifications=[
            {
                "scheme": "UNSPSC",
                "code": "42131606",
                "description": "Disposable isolation gowns with a very long description"
                " that goes on and on, Supercalifragilisticexpialidocious-gowns-for-clinics",
            }
        ],
    )
    await seen_by_matching(platform, notice["id"], 1)
    base = str(signed_in.client.base_url)
    session = signed_in.client.cookies["tw_portal_session"]
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await chromium.new_context(viewport={"width": 360, "height": 640})
            context.set_default_timeout(BROWSER_WAIT_MS)
            await context.add_cookies(
                [{"name": "tw_portal_session", "value": session, "url": f"{base}/portal/"}]
            )
            page = await context.new_page()
            refused: list[str] = []
            # (The browser's own favicon request is a 404 too, and not the page's doing.)
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
            )
            for path in (
                "/portal/preferences",
                "/portal/preferences?region=America",
                "/portal/codes?q=gowns",
                "/portal/codes?under=42130000",
                "/portal/alerts",
            ):
                answer = await page.goto(f"{base}{path}")
                assert answer is not None, path
                assert answer.status == 200, path
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= 360, (path, width)
                # The stylesheet applied: the CSP let the portal's own CSS in.
                font = await page.evaluate("getComputedStyle(document.body).fontFamily")
                assert "system-ui" in font, path
            # A code typed by its number, with no title yet, added with the button beside it.
            await page.goto(f"{base}/portal/codes?q=42131607")
            await page.get_by_role("button", name="Add").first.click()
            await page.wait_for_url("**/portal/codes?**done=added**")
            assert refused == []
            assert "42131607" in (await signed_in.profile(platform))["unspsc_codes"]
            await context.close()
        finally:
            await chromium.close()
