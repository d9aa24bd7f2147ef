"""A supplier's whole way through, in Chromium at a phone's size, over the real stack (Kafka,
PostgreSQL, the mail catcher, the SMS stub): register on the portal, confirm the address from
the caught e-mail, sign in by link, receive an alert, open its notice page, change preferences,
stop and resume e-mail alerts, and delete the account, after which no database holds a contact
detail of it. Beside it: an address or phone nobody has confirmed receives nothing but the
message that would confirm it.

With TW_UPDATE_SCREENSHOTS=1 the registration page is kept in Arabic and in Chinese under
docs/portal/.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.browser import BROWSER_WAIT_MS, CHROMIUM_ARGS, chromium_or_skip
from tests.support.erasure import where_found
from tests.support.eventually import eventually
from tests.support.matching_helpers import seen_by_matching, unique
from tests.support.notices_api import Agency, in_days
from tests.support.notify_api import deliveries
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice, mail_to

pytestmark = pytest.mark.integration

PHONE = ViewportSize(width=360, height=640)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "portal"
# Codes no other test publishes, so no other test's tender reaches these suppliers.
CODE = "25172504"


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Browser]:
    executable = chromium_or_skip()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def phone_page(chromium: Browser, language: str) -> Page:
    context = await chromium.new_context(viewport=PHONE, locale=language)
    page = await context.new_page()
    page.set_default_timeout(BROWSER_WAIT_MS)
    return page


async def mail(
    http: httpx.AsyncClient, catcher: MailCatcher, address: str, count: int
) -> list[Any]:
    """The mail `address` received, once there are `count` messages."""
    found: list[Any] = await eventually(
        lambda: mail_to(http, catcher, address), until=lambda m: len(m) >= count
    )
    return found


def link_in(message: dict[str, Any], pattern: str) -> str:
    found = re.search(pattern, message["text"])
    assert found, message["text"]
    return found.group(0)


# What a page cost to load: its HTML and every resource it fetched (its stylesheet), decoded.
_WEIGHT = (
    "performance.getEntriesByType('navigation')[0].decodedBodySize"
    " + performance.getEntriesByType('resource').reduce((s, e) => s + e.decodedBodySize, 0)"
)
WEIGHTS: dict[str, int] = {}


async def fits_a_phone(page: Page) -> None:
    """No sideways scrolling at 360 px, and under 100 KB with its CSS (3G)."""
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    path = "/".join(page.url.split("?")[0].rsplit("/", 2)[-2:])
    weight = int(await page.evaluate(_WEIGHT))
    WEIGHTS[f"{path}: {await page.title()}"] = weight
    assert weight < 100 * 1024, (page.url, weight)


async def test_a_supplier_walks_the_portal_from_registration_to_deletion(  # noqa: PLR0915 - one walk, in order
    platform: Platform,
    http: httpx.AsyncClient,
    mail_catcher: MailCatcher,
    chromium: Browser,
) -> None:
    assert platform.matching is not None
    assert platform.notices is not None
    portal = f"{platform.matching.url}/portal"
    email = f"{unique('offres')}@sahel-walk.example"
    legal_name = unique("Sahel Pompes Solaires SARL")
    page = await phone_page(chromium, "fr-FR")

    # Register, in French as the browser asks.
    await page.goto(f"{portal}/register")
    assert await page.get_attribute("html", "lang") == "fr"
    await fits_a_phone(page)
    await page.fill("#legal_name", legal_name)
    await page.select_option("#country", "SEN")
    await page.fill("#email", email)
    await page.select_option("#language", "fr")
    await page.fill("#unspsc_codes", CODE)
    await page.click("form[action$='/register'] button[type=submit]")
    await page.wait_for_load_state()
    assert "/register" in page.url
    await fits_a_phone(page)

    # Confirm the address from the caught e-mail: the link opens a page, its button confirms.
    [verification] = await mail(http, mail_catcher, email, 1)
    verify = link_in(verification, rf"{re.escape(portal)}/verify-email\?token=\S+")
    await page.goto(verify)
    await page.click("main form button[type=submit]")
    await page.wait_for_load_state()
    supplier = await supplier_row(platform, email)
    assert supplier["email_verified_at"] is not None

    # Sign in by e-mail link.
    await page.goto(f"{portal}/sign-in")
    await page.fill("#email", email)
    await page.click("main form button[type=submit]")
    signing_in = await mail(http, mail_catcher, email, 2)
    sign_in = link_in(signing_in[-1], rf"{re.escape(portal)}/sign-in/link\?token=\S+")
    await page.goto(sign_in)
    await page.click("main form button[type=submit]")
    await page.wait_for_load_state()
    await page.goto(f"{portal}/account")
    assert "/sign-in" not in page.url
    await fits_a_phone(page)

    # An agency publishes a tender for the supplier's code: the alert arrives, in French, and
    # its "View the notice" link opens the public page in the browser.
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    published = await agency.publish(
        a_notice(
            title="Pompes solaires pour forages villageois",
            unspsc_codes=[CODE],
            beneficiary_countries=["SN"],
            deadline=in_days(25),
        )
    )
    assert published.status_code == 201, published.text
    tender_id = published.json()["id"]
    received = await mail(http, mail_catcher, email, 3)
    alert = received[-1]
    assert "Pompes solaires" in alert["subject"]
    notice_link = link_in(alert, rf"{re.escape(platform.notices.url)}/v1/notices/\S+")
    await page.goto(notice_link)
    assert await page.get_attribute("html", "lang") == "fr"
    assert "Pompes solaires pour forages villageois" in await page.inner_text("h1")
    await fits_a_phone(page)

    # Preferences: the daily digest at 07:00 instead of every alert at once.
    await page.goto(f"{portal}/preferences")
    await fits_a_phone(page)
    await page.check("input[name=delivery][value=daily_digest]")
    await page.select_option("select[name=digest_hour]", "7")
    await page.click("form[action$='/preferences/delivery'] button[type=submit]")
    await page.wait_for_load_state()
    profile = await supplier_row(platform, email)
    assert (profile["delivery"], profile["digest_hour"]) == ("daily_digest", 7)

    # The alerts received, with their state; stop e-mail, then resume it.
    await page.goto(f"{portal}/alerts")
    await eventually(
        lambda: deliveries(http, platform, supplier["id"]),
        until=lambda rows: any(r["state"] in {"sent", "delivered"} for r in rows),
    )
    await page.reload()
    assert "Pompes solaires" in await page.inner_text("main")
    await fits_a_phone(page)
    await page.click("button[name=scope][value=email]:not(.resume)", strict=False)
    await page.wait_for_load_state()
    assert await suppressed(platform, email)
    await page.goto(f"{portal}/alerts")
    await page.click("form:has(input[name=action][value=resume]) button[value=email]")
    await page.wait_for_load_state()
    assert not await suppressed(platform, email)

    # Leave: the account is deleted, and no database keeps a contact detail of it.
    await page.goto(f"{portal}/delete-account")
    await fits_a_phone(page)
    await page.click("form[action$='/delete-account'] button[type=submit]")
    await page.wait_for_load_state()
    await seen_by_matching(platform, tender_id, 1)
    needles = [email, legal_name]

    async def left() -> list[tuple[str, str, str, str]]:
        return [
            (name, *found)
            for name, dsn in platform.dsns.items()
            for found in await where_found(dsn, needles)
        ]

    assert await eventually(left, until=lambda found: found == []) == []
    await page.context.close()
    print("page weights, HTML + CSS bytes:", WEIGHTS)


async def supplier_row(platform: Platform, email: str) -> asyncpg.Record:
    conn = await asyncpg.connect(platform.dsns["matching"])
    try:
        row = await conn.fetchrow("SELECT * FROM suppliers WHERE lower(email) = lower($1)", email)
    finally:
        await conn.close()
    assert row is not None
    return row


async def suppressed(platform: Platform, address: str) -> bool:
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        return bool(
            await conn.fetchval(
                "SELECT count(*) FROM suppressions WHERE channel = 'email' AND address = lower($1)",
                address,
            )
        )
    finally:
        await conn.close()


async def test_an_unconfirmed_address_and_phone_receive_only_the_messages_that_confirm_them(
    platform: Platform, http: httpx.AsyncClient, mail_catcher: MailCatcher
) -> None:
    assert platform.matching is not None
    portal = f"{platform.matching.url}/portal"
    email = f"{unique('unproven')}@sahel-walk.example"
    phone = "+221775550123"
    async with httpx.AsyncClient(base_url=portal, timeout=30.0) as browser:
        form = await browser.get("/register")
        token = re.search(r'name="form_token" value="([^"]+)"', form.text)
        assert token
        registered = await browser.post(
            "/register",
            data={
                "form_token": token.group(1),
                "legal_name": unique("Unproven Supplies"),
                "country": "SEN",
                "email": email,
                "phone": phone,
                "language": "en",
                "unspsc_codes": CODE,
            },
        )
        assert registered.status_code in {200, 303}, registered.text
    supplier = await supplier_row(platform, email)
    assert supplier["email_verified_at"] is None
    assert supplier["phone_verified_at"] is None

    code, key = await platform.new_agency()
    published = await Agency(http, platform, code, key).publish(
        a_notice(title="Solar pumps", unspsc_codes=[CODE], deadline=in_days(25))
    )
    assert published.status_code == 201, published.text
    tender_id = published.json()["id"]
    # Notify has the alert and withheld it on both channels, naming why.
    rows = await eventually(
        lambda: deliveries(http, platform, supplier["id"]),
        until=lambda rows: (
            {r["channel"] for r in rows if r["tender_id"] == tender_id} == {"email", "sms"}
        ),
    )
    withheld = {r["channel"]: r for r in rows if r["tender_id"] == tender_id}
    assert {c: r["state"] for c, r in withheld.items()} == {
        "email": "suppressed",
        "sms": "suppressed",
    }
    assert all("not verified" in (r["last_error"] or "") for r in withheld.values())

    # The address got the link that confirms it and nothing else; the phone, its code only.
    [only] = await mail_to(http, mail_catcher, email)
    assert "/portal/verify-email?token=" in only["text"]
    texts = [
        m for gateway in platform.sms_gateways.values() for m in gateway.messages if m.to == phone
    ]
    assert len(texts) == 1
    assert re.search(r"\b\d{6}\b", texts[0].body)


@pytest.mark.parametrize("language", ["ar", "zh"])
async def test_the_registration_page_reads_in_arabic_and_chinese_on_a_phone(
    platform: Platform, chromium: Browser, language: str
) -> None:
    assert platform.matching is not None
    page = await phone_page(chromium, language)
    await page.goto(f"{platform.matching.url}/portal/register?lang={language}")
    assert await page.get_attribute("html", "lang") == language
    assert await page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    assert "Register" not in await page.inner_text("main")
    await fits_a_phone(page)
    if os.environ.get("TW_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS / f"register-{language}.png"), full_page=True)
    await page.context.close()
