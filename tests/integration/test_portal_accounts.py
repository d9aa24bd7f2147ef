"""The portal's accounts over the real stack (PostgreSQL, Kafka, notify beside): register with
the form as a browser would (form token and all), confirm the address, sign in by link, add
and confirm a phone, make and revoke an API token, add a further contact, follow a tender and
hear of its cancellation, then delete the account and find its contact details nowhere in
matching's database.

The links and codes are read from the account.message events matching put in its outbox:
notify's sending of them is built beside this branch. LEAD: once notify sends account
messages, `message_to` can read them from the mail catcher (`walkthrough.mail_to`) and the SMS
stub instead, which proves the whole way; every test reads them through it.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from playwright.async_api import async_playwright

from tests.support.browser import BROWSER_WAIT_MS, CHROMIUM_ARGS, chromium_or_skip
from tests.support.erasure import where_found
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, seen_by_matching, supplier, unique
from tests.support.notices_api import Agency
from tests.support.platform import OPERATOR_HEADERS, Platform

pytestmark = pytest.mark.integration

ACCOUNT_MESSAGES = "account-messages.v1"


def _form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, page[:2000]
    return found.group(1)


class Browser:
    """One supplier's browser: its cookies, and the form token of the last page it saw."""

    def __init__(self, platform: Platform) -> None:
        assert platform.matching is not None
        self.base = platform.matching.url
        self.client = httpx.AsyncClient(base_url=self.base, timeout=10.0)
        self.token = ""

    async def get(self, path: str, **params: str) -> httpx.Response:
        response = await self.client.get(path, params=params)
        if 'name="form_token"' in response.text:
            self.token = _form_token(response.text)
        return response

    async def post(self, path: str, **fields: str) -> httpx.Response:
        if not self.token:
            await self.get("/portal/")
            await self.get("/portal/register")
        return await self.client.post(path, data={"form_token": self.token, **fields})

    async def close(self) -> None:
        await self.client.aclose()


async def _matching(platform: Platform) -> asyncpg.Connection:
    return await asyncpg.connect(platform.dsns["matching"])


async def messages_to(platform: Platform, address: str) -> list[dict[str, Any]]:
    """Every account message to `address` in matching's outbox, oldest first."""
    conn = await _matching(platform)
    try:
        rows = await conn.fetch(
            "SELECT value FROM outbox WHERE topic = $1 ORDER BY position",
            f"{platform.topic_prefix}{ACCOUNT_MESSAGES}",
        )
    finally:
        await conn.close()
    events = [json.loads(bytes(r["value"])) for r in rows]
    return [e["data"] for e in events if e["data"]["address"].lower() == address.lower()]


async def message_to(platform: Platform, address: str, purpose: str, seen: int = 0) -> Any:
    """The newest account message of `purpose` to `address`, once there are more than `seen`."""
    found = await eventually(
        lambda: messages_to(platform, address),
        until=lambda m: len([x for x in m if x["purpose"] == purpose]) > seen,
    )
    return [m for m in found if m["purpose"] == purpose][-1]


async def supplier_events(platform: Platform, supplier_id: str) -> list[dict[str, Any]]:
    conn = await _matching(platform)
    try:
        rows = await conn.fetch(
            "SELECT value FROM outbox WHERE topic = $1 AND key = $2 ORDER BY position",
            f"{platform.topic_prefix}suppliers.v1",
            supplier_id,
        )
    finally:
        await conn.close()
    return [json.loads(bytes(r["value"])) for r in rows]


def path_of(link: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(link)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


async def supplier_row(platform: Platform, email: str) -> asyncpg.Record:
    conn = await _matching(platform)
    try:
        row = await conn.fetchrow("SELECT * FROM suppliers WHERE lower(email) = lower($1)", email)
    finally:
        await conn.close()
    assert row is not None
    return row


async def open_link(browser: Browser, link: str) -> httpx.Response:
    """What a supplier does with a link: opens it (a page with a button), presses the button."""
    path, query = path_of(link)
    shown = await browser.get(path, **query)
    assert shown.status_code == 200, shown.text[:2000]
    assert "<form" in shown.text
    return await browser.post(path, **query)


async def sign_in(platform: Platform, browser: Browser, email: str) -> None:
    seen = len([m for m in await messages_to(platform, email) if m["purpose"] == "sign_in"])
    await browser.get("/portal/sign-in")
    sent = await browser.post("/portal/sign-in", email=email, next="/portal/account")
    assert sent.status_code == 200
    link = (await message_to(platform, email, "sign_in", seen))["link"]
    signed = await open_link(browser, link)
    assert signed.status_code == 303, signed.text[:2000]
    assert signed.headers["location"] == "/portal/account"


async def test_a_supplier_registers_confirms_signs_in_manages_its_account_and_leaves(  # noqa: PLR0915 - one walk through, in order
    platform: Platform, http: httpx.AsyncClient
) -> None:
    browser = Browser(platform)
    email = f"{unique('portal')}@example.org"
    legal_name = unique("Portal Supplies")
    phone = "+221 77 555 12 34"
    try:
        # Register through the form.
        await browser.get("/portal/register")
        registered = await browser.post(
            "/portal/register",
            legal_name=legal_name,
            country="Senegal",
            email=email,
            phone="",
            language="en",
            unspsc_codes="42131606",
            cpv_codes="",
        )
        assert registered.status_code == 200, registered.text[:2000]
        assert "Check your inbox" in registered.text
        row = await supplier_row(platform, email)
        assert row["email_verified_at"] is None

        # Unconfirmed, the address cannot sign in: nothing is sent, the page says the same.
        refused = await browser.post("/portal/sign-in", email=email, next="/portal/")
        assert "If this address is registered" in refused.text
        assert [m["purpose"] for m in await messages_to(platform, email)] == ["verify_email"]

        # Confirm the address by its link: the GET only shows a button.
        verification = await message_to(platform, email, "verify_email")
        assert verification["link"].startswith(f"{browser.base}/portal/verify-email?token=")
        path, query = path_of(verification["link"])
        await browser.get(path, **query)
        assert (await supplier_row(platform, email))["email_verified_at"] is None
        confirmed = await browser.post(path, **query)
        assert "Your address is confirmed" in confirmed.text
        assert (await supplier_row(platform, email))["email_verified_at"] is not None
        # Single use.
        again = await browser.post(path, **query)
        assert again.status_code == 400
        assert "This link does not work" in again.text

        await sign_in(platform, browser, email)
        account = await browser.get("/portal/account")
        assert account.status_code == 200
        assert html.escape(legal_name) in account.text

        # A phone, confirmed by the code texted to it; a wrong code first.
        changed = await browser.post("/portal/account/phone", phone=phone)
        assert changed.status_code == 303
        code = (await message_to(platform, "+221775551234", "verify_phone"))["code"]
        wrong = "000000" if code != "000000" else "111111"
        await browser.get("/portal/verify-phone")
        missed = await browser.post("/portal/verify-phone", code=wrong)
        assert missed.status_code == 422
        assert "4 more tries" in missed.text
        hit = await browser.post("/portal/verify-phone", code=f"{code[:3]} {code[3:]}")
        assert hit.status_code == 303
        assert (await supplier_row(platform, email))["phone_verified_at"] is not None

        # An API token, shown once, works until revoked.
        await browser.get("/portal/tokens")
        made = await browser.post("/portal/tokens", label="ERP <sync>")
        assert made.status_code == 422  # no markup in a label
        made = await browser.post("/portal/tokens", label="ERP sync")
        token = re.search(r'<p class="code"><bdi>([^<]+)</bdi>', made.text)
        assert token, made.text[:3000]
        api = f"{browser.base}/v1/suppliers/{row['id']}"
        bearer = {"Authorization": f"Bearer {token.group(1)}"}
        assert (await http.get(api, headers=bearer)).status_code == 200
        listed = await browser.get("/portal/tokens")
        assert token.group(1) not in listed.text
        token_id = re.search(r"/portal/tokens/([^/]+)/revoke", listed.text)
        assert token_id
        await browser.post(f"/portal/tokens/{token_id.group(1)}/revoke")
        assert (await http.get(api, headers=bearer)).status_code == 401

        # A further contact gets the alerts once confirmed.
        colleague = f"{unique('colleague')}@example.org"
        await browser.get("/portal/contacts")
        await browser.post("/portal/contacts", address=colleague)
        contact_link = (await message_to(platform, colleague, "verify_email"))["link"]
        assert "/portal/verify-contact?" in contact_link
        assert "The address is confirmed" in (await open_link(browser, contact_link)).text
        # What notify reads: the recipient now says both contacts are proven, with the other.
        recipient = (await supplier_events(platform, row["id"]))[-1]["data"]["supplier"]
        assert (recipient["email_verified"], recipient["phone_verified"]) == (True, True)
        assert recipient["also_email"] == [colleague]
        # Another, removed before it is confirmed: it never gets an alert.
        passing = f"{unique('temp')}@example.org"
        await browser.post("/portal/contacts", address=passing)
        listed = await browser.get("/portal/contacts")
        ids = re.findall(r"/portal/contacts/([^/\"]+)/remove", listed.text)
        assert len(ids) == 2
        await browser.post(f"/portal/contacts/{ids[-1]}/remove")
        assert passing not in (await browser.get("/portal/contacts")).text
        assert colleague in (await browser.get("/portal/contacts")).text

        # Follow a tender it does not match, and hear of its cancellation.
        code_, key = await platform.new_agency()
        agency = Agency(http, platform, code_, key)
        tender = await publish(agency, unspsc_codes=["10101501"], title="Live goats for a farm")
        await seen_by_matching(platform, tender["id"], 1)
        follow_page = await browser.get(f"/portal/follow/{tender['id']}")
        assert "Live goats for a farm" in follow_page.text
        followed = await browser.post(f"/portal/follow/{tender['id']}", action="follow")
        assert followed.status_code == 303
        assert (await agency.cancel(tender["id"], "Budget withdrawn")).status_code == 200
        await seen_by_matching(platform, tender["id"], 2)
        conn = await _matching(platform)
        try:
            kinds = await conn.fetch(
                "SELECT kind FROM matches WHERE supplier_id = $1 AND tender_id = $2",
                row["id"],
                tender["id"],
            )
        finally:
            await conn.close()
        assert [k["kind"] for k in kinds] == ["cancelled"]
        unfollowed = await browser.post(f"/portal/follow/{tender['id']}", action="unfollow")
        assert unfollowed.headers["location"].endswith("?notice=unfollowed")
        assert "Follow" in (await browser.get(f"/portal/follow/{tender['id']}")).text

        # Leave: every contact detail goes, the id, country, codes and matches stay.
        before = await where_found(
            platform.dsns["matching"], [email, colleague, "+221775551234", legal_name]
        )
        assert {needle for _, _, needle in before} == {
            email,
            colleague,
            "+221775551234",
            legal_name,
        }
        await browser.get("/portal/delete-account")
        deleted = await browser.post("/portal/delete-account")
        assert deleted.status_code == 200
        assert "Your account is deleted" in deleted.text
        assert (await browser.get("/portal/account")).status_code == 303

        found = await where_found(
            platform.dsns["matching"], [email, colleague, "+221775551234", legal_name]
        )
        assert found == [], found
        conn = await _matching(platform)
        try:
            kept = await conn.fetchrow(
                "SELECT s.country, s.erased_at, s.active,"
                " (SELECT count(*) FROM matches m WHERE m.supplier_id = s.id) AS matches,"
                " (SELECT count(*) FROM supplier_codes c WHERE c.supplier_id = s.id) AS codes"
                " FROM suppliers s WHERE s.id = $1",
                row["id"],
            )
            erased_event = await conn.fetchval(
                "SELECT event_type FROM outbox WHERE key = $1", row["id"]
            )
        finally:
            await conn.close()
        assert kept is not None
        assert (kept["country"], kept["active"], kept["matches"], kept["codes"]) == (
            "SEN",
            False,
            1,
            1,
        )
        assert kept["erased_at"] is not None
        assert erased_event == "supplier.erased"

        # The address is free again: registering with it makes a new supplier.
        await browser.get("/portal/register")
        anew = await browser.post(
            "/portal/register",
            legal_name=legal_name,
            country="SEN",
            email=email,
            language="en",
            unspsc_codes="42131606",
        )
        assert "Check your inbox" in anew.text
        assert (await supplier_row(platform, email))["id"] != row["id"]
    finally:
        await browser.close()


async def test_an_api_registration_is_verified_only_when_an_operator_vouches(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    base = f"{platform.matching.url}/v1/suppliers"
    own = supplier(phone="+221 77 555 98 76")
    vouched = supplier()

    self_registered = await http.post(base, json=own)
    imported = await http.post(base, json=vouched, headers=OPERATOR_HEADERS)

    assert self_registered.status_code == 201, self_registered.text
    assert (self_registered.json()["email_verified"], imported.json()["email_verified"]) == (
        False,
        True,
    )
    purposes = {m["purpose"] for m in await messages_to(platform, own["email"])}
    assert purposes == {"verify_email"}
    assert await messages_to(platform, vouched["email"]) == []
    [code] = [m for m in await messages_to(platform, "+221775559876")]
    assert code["purpose"] == "verify_phone"
    assert re.fullmatch(r"\d{6}", code["code"])

    # A new address through the API is unverified again, and gets its own link.
    mine = {"Authorization": f"Bearer {imported.json()['token']}"}
    moved = f"{unique('moved')}@example.org"
    url = f"{base}/{imported.json()['id']}"
    changed = await http.patch(url, json={"email": moved}, headers=mine)
    assert changed.json()["email_verified"] is False
    assert [m["purpose"] for m in await messages_to(platform, moved)] == ["verify_email"]

    # A pause, as the preferences page sets it: a date, midnight in the supplier's zone.
    paused = await http.patch(
        url, json={"paused_until": "2027-01-05", "timezone": "Africa/Nairobi"}, headers=mine
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused_until"] == "2027-01-05"
    recipient = (await supplier_events(platform, imported.json()["id"]))[-1]["data"]["supplier"]
    assert recipient["paused_until"] == "2027-01-04T21:00:00Z"
    resumed = await http.patch(url, json={"paused_until": None}, headers=mine)
    assert resumed.json()["paused_until"] is None


async def test_a_deactivated_supplier_is_offered_reactivation_not_a_dead_end(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    base = f"{platform.matching.url}/v1/suppliers"
    gone = (await http.post(base, json=supplier(), headers=OPERATOR_HEADERS)).json()
    own = {"Authorization": f"Bearer {gone['token']}"}
    assert (await http.delete(f"{base}/{gone['id']}", headers=own)).status_code == 204

    again = await http.post(base, json=supplier(email=gone["email"]))
    assert again.status_code == 409
    assert "/portal/sign-in" in again.json()["detail"][0]["msg"]

    browser = Browser(platform)
    try:
        await browser.get("/portal/sign-in")
        await browser.post("/portal/sign-in", email=gone["email"], next="/portal/account")
        link = (await message_to(platform, gone["email"], "sign_in"))["link"]
        path, query = path_of(link)
        offered = await browser.get(path, **query)
        assert "Reactivate and sign in" in offered.text
        assert query["next"] == "/portal/account"
        back = await browser.post(path, **query, reactivate="yes")
        assert back.status_code == 303
        assert (await browser.get("/portal/account")).status_code == 200
    finally:
        await browser.close()
    assert (await http.get(f"{base}/{gone['id']}", headers=own)).json()["active"] is True


async def test_sign_in_requests_are_rate_limited_per_address_and_say_nothing_more(
    platform: Platform,
) -> None:
    browser = Browser(platform)
    address = f"{unique('nobody')}@example.org"
    try:
        await browser.get("/portal/sign-in")
        answers = [await browser.post("/portal/sign-in", email=address) for _ in range(4)]
    finally:
        await browser.close()

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) > 0
    assert "Please wait a little" in answers[-1].text


async def test_a_phone_code_gives_five_tries_then_a_new_one_is_needed(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    registered = await http.post(
        f"{platform.matching.url}/v1/suppliers", json=supplier(), headers=OPERATOR_HEADERS
    )
    email = registered.json()["email"]
    browser = Browser(platform)
    try:
        await sign_in(platform, browser, email)
        await browser.get("/portal/account")
        await browser.post("/portal/account/phone", phone="+221 77 555 44 33")
        code = (await message_to(platform, "+221775554433", "verify_phone"))["code"]
        wrong = "000000" if code != "000000" else "111111"
        await browser.get("/portal/verify-phone")
        tries = [await browser.post("/portal/verify-phone", code=wrong) for _ in range(5)]
        late = await browser.post("/portal/verify-phone", code=code)
    finally:
        await browser.close()

    assert "1 more try" in tries[3].text
    assert "That code no longer works" in tries[4].text
    assert "That code no longer works" in late.text
    assert (await supplier_row(platform, email))["phone_verified_at"] is None


HOSTILE = [
    "\x00",
    "<script>alert(1)</script>",
    "x" * 100_000,
    "a@b.org\r\nBcc: c@d.org",
    "\u202eevil@example.org",
    "\u200b",
]


async def test_hostile_input_to_the_signed_in_forms_gets_a_page_and_changes_nothing(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    registered = await http.post(
        f"{platform.matching.url}/v1/suppliers", json=supplier(), headers=OPERATOR_HEADERS
    )
    email = registered.json()["email"]
    before = await supplier_row(platform, email)
    browser = Browser(platform)
    try:
        await sign_in(platform, browser, email)
        await browser.get("/portal/account")
        answers = []
        for value in HOSTILE:
            answers += [
                await browser.post("/portal/account/email", email=value),
                await browser.post("/portal/account/phone", phone=value),
                await browser.post("/portal/contacts", address=value),
                await browser.post("/portal/tokens", label=value if value.strip() else ""),
                await browser.post("/portal/verify-phone", code=value),
            ]
        stray = [
            await browser.post("/portal/contacts/%3Cscript%3E/remove"),
            await browser.post("/portal/tokens/..%2F..%2Fx/revoke"),
            await browser.post("/portal/follow/%3Cscript%3E", action="follow"),
            await browser.get("/portal/follow/%3Cscript%3E"),
        ]
    finally:
        await browser.close()

    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.request.url, answer.text[:500])
        assert "<script>alert" not in answer.text
    assert all(a.status_code < 500 for a in stray)
    after = await supplier_row(platform, email)
    assert (after["email"], after["phone"], after["version"]) == (
        before["email"],
        before["phone"],
        before["version"],
    )
    conn = await _matching(platform)
    try:
        extras = await conn.fetchval(
            "SELECT (SELECT count(*) FROM supplier_contacts WHERE supplier_id = $1)"
            " + (SELECT count(*) FROM supplier_tokens WHERE supplier_id = $1)",
            before["id"],
        )
    finally:
        await conn.close()
    assert extras == 0


async def test_every_account_page_fits_a_phone_with_its_own_stylesheet(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    executable = chromium_or_skip()
    assert platform.matching is not None
    registered = await http.post(
        f"{platform.matching.url}/v1/suppliers",
        json=supplier(
            legal_name=unique("Établissements Généraux de Fournitures Médicales du Sahel")
        ),
        headers=OPERATOR_HEADERS,
    )
    body = registered.json()
    signed_in = Browser(platform)
    try:
        await sign_in(platform, signed_in, body["email"])
        await signed_in.get("/portal/tokens")
        await signed_in.post("/portal/tokens", label="Our purchasing system, nightly sync")
        code_, key = await platform.new_agency()
        tender = await publish(Agency(http, platform, code_, key), title="Gowns " * 60)
        await seen_by_matching(platform, tender["id"], 1)
        cookies = [
            {"name": c.name, "value": c.value or "", "url": platform.matching.url}
            for c in signed_in.client.cookies.jar
        ]
    finally:
        await signed_in.close()
    signed_pages = [
        "/portal/account",
        "/portal/contacts",
        "/portal/tokens",
        "/portal/verify-phone",
        "/portal/delete-account",
        f"/portal/follow/{tender['id']}",
    ]
    open_pages = ["/portal/register", "/portal/sign-in", "/portal/verify-email?token=forged"]
    widths: dict[str, int] = {}
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            for pages, with_cookies in ((open_pages, False), (signed_pages, True)):
                context = await chromium.new_context(viewport={"width": 360, "height": 640})
                if with_cookies:
                    await context.add_cookies(cookies)  # type: ignore[arg-type]
                page = await context.new_page()
                page.set_default_timeout(BROWSER_WAIT_MS)
                for path in pages:
                    await page.goto(f"{platform.matching.url}{path}")
                    assert "/sign-in" not in page.url or not with_cookies, path
                    widths[path] = await page.evaluate("document.documentElement.scrollWidth")
                    # The stylesheet loaded under the CSP: the header is the portal's blue.
                    header = await page.evaluate(
                        "getComputedStyle(document.querySelector('header')).backgroundColor"
                    )
                    assert header == "rgb(11, 61, 145)", path
                if with_cookies:
                    # The token shown once: a long unbroken word, on a phone.
                    await page.goto(f"{platform.matching.url}/portal/tokens")
                    await page.fill("#label", "For the phone test")
                    await page.click("form[action$='/tokens'] button")
                    await page.wait_for_selector("p.code")
                    widths["token shown"] = await page.evaluate(
                        "document.documentElement.scrollWidth"
                    )
                await context.close()
        finally:
            await chromium.close()

    assert {path: width for path, width in widths.items() if width > 360} == {}


async def test_a_new_address_is_unproven_until_its_link_is_opened_and_sign_out_ends_it(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    registered = await http.post(
        f"{platform.matching.url}/v1/suppliers", json=supplier(), headers=OPERATOR_HEADERS
    )
    old = registered.json()["email"]
    new = f"{unique('new')}@example.org"
    browser = Browser(platform)
    try:
        await sign_in(platform, browser, old)
        # One more sign-in link to the old address, left unused.
        await browser.post("/portal/sign-in", email=old)
        stale_link = await message_to(platform, old, "sign_in", seen=1)
        await browser.get("/portal/account")
        moved = await browser.post("/portal/account/email", email=new)
        assert moved.status_code == 303
        row = await supplier_row(platform, new)
        assert row["email_verified_at"] is None
        first = await message_to(platform, new, "verify_email")
        account = await browser.get("/portal/account")
        assert "not confirmed" in account.text
        await browser.post("/portal/account/resend")
        second = await message_to(platform, new, "verify_email", seen=1)
        assert second["link"] != first["link"]

        await browser.post("/portal/sign-out")
        assert (await browser.get("/portal/account")).status_code == 303
        # Neither address signs in now: the old is no longer the account's, the new unproven.
        before = len(await messages_to(platform, old)) + len(await messages_to(platform, new))
        await browser.get("/portal/sign-in")
        await browser.post("/portal/sign-in", email=old)
        await browser.post("/portal/sign-in", email=new)
        after = len(await messages_to(platform, old)) + len(await messages_to(platform, new))
        assert after == before
        # A sign-in link sent to the old address before the move opens nothing either.
        path, query = path_of(stale_link["link"])
        assert (await browser.get(path, **query)).status_code == 200  # still unused
        assert (await browser.post(path, **query)).status_code == 400

        assert "confirmed" in (await open_link(browser, second["link"])).text
        assert (await supplier_row(platform, new))["email_verified_at"] is not None
    finally:
        await browser.close()


async def test_the_api_deletes_an_account_with_its_own_token(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    base = f"{platform.matching.url}/v1/suppliers"
    leaving = supplier(phone="+221 77 555 77 66")
    body = (await http.post(base, json=leaving, headers=OPERATOR_HEADERS)).json()
    own = {"Authorization": f"Bearer {body['token']}"}

    assert (await http.delete(f"{base}/{body['id']}?erase=true", headers=own)).status_code == 204

    assert (await http.get(f"{base}/{body['id']}", headers=own)).status_code == 401
    found = await where_found(
        platform.dsns["matching"], [leaving["email"], "+221775557766", leaving["legal_name"]]
    )
    assert found == []
    [event] = await supplier_events(platform, body["id"])
    assert event["type"] == "supplier.erased"
    assert event["data"] == {"supplier_id": body["id"], "erased_at": event["data"]["erased_at"]}
