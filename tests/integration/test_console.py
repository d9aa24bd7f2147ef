"""The operators' web console over a running platform: every page opens with the token,
hostile data shown as text, contacts masked, and, in headless Chromium, the live feed receiving
a new tender over server-sent events without a reload.

What needs no platform (the guard turning every view away without the token, or with none
configured; input refused before any query) is in services/console/tests/test_pages.py.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from playwright.async_api import Page, async_playwright, expect
from pydantic import SecretStr

from tenderwire_console.bootstrap import create_app
from tenderwire_console.settings import ConsoleSettings
from tenderwire_shared import topics
from tenderwire_stack.http_server import BackgroundServer
from tests.support.browser import BROWSER_WAIT_MS, CHROMIUM_ARGS, chromium_or_skip
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port
from tests.support.kafka_reader import read_until
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency, in_days
from tests.support.notify_api import deliveries
from tests.support.platform import OPERATOR_HEADERS, OPERATOR_TOKEN, Platform, with_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = ROOT / "docs/console/timeline.png"
TITLE_THE_API_ALLOWS = 'Gowns <5 kg & "masks"'
# The notices API refuses markup, so these are written straight into the databases: the
# console must not rely on every row having come through today's validation.
HOSTILE_TITLE = '<script>alert("title")</script><img src=x onerror=alert(1)> Gowns & "masks"'
HOSTILE_NAME = "<script>alert('name')</script> Textiles"
TOKEN = OPERATOR_TOKEN.get_secret_value()


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def console_settings(platform: Platform, token: SecretStr | None) -> ConsoleSettings:
    return ConsoleSettings(
        notices_database_url=platform.dsns["notices"],
        matching_database_url=platform.dsns["matching"],
        notify_database_url=platform.dsns["notify"],
        kafka_bootstrap_servers=platform.kafka,
        topic_prefix=platform.topic_prefix,
        operator_token=token,
    )


@pytest_asyncio.fixture(scope="module")
async def console(platform: Platform) -> AsyncIterator[BackgroundServer]:
    server = BackgroundServer(
        create_app(console_settings(platform, OPERATOR_TOKEN)), port=free_port()
    )
    await server.start()
    yield server
    await server.stop()


@dataclass(frozen=True)
class Scenario:
    agency: Agency
    tender_id: str
    hostile_tender_id: str
    alerted: dict[str, Any]
    bounced: dict[str, Any]
    dead_letter_ref: str


def settled_email(rows: list[Any], count: int) -> bool:
    email = [r for r in rows if r["channel"] == "email"]
    return len(email) == count and all(r["state"] not in ("queued", "sending") for r in rows)


@pytest_asyncio.fixture(scope="module")
async def scenario(platform: Platform) -> AsyncIterator[Scenario]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        yield await build_scenario(http, platform)


async def build_scenario(http: httpx.AsyncClient, platform: Platform) -> Scenario:
    """A tender published and amended, one supplier alerted twice, one bounced, a dead letter."""
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    alerted = await register(
        http,
        platform,
        legal_name=unique("Sahel Medical Supplies SARL"),
        unspsc_codes=["42131600"],
        email=f"{unique('bids')}@example.org",
        phone="+221771234567",
    )
    bounced = await register(
        http,
        platform,
        legal_name=unique("Dakar Textiles"),
        unspsc_codes=["42131600"],
        email=f"{unique('bounce')}@example.org",
    )
    notice = await publish(
        agency,
        title="Isolation gowns for health centres in Dakar",
        unspsc_codes=["42131606"],
        deadline=in_days(20),
    )
    amended = await agency.amend(
        notice["id"], {"reason": "More time for bidders", "deadline": in_days(27)}
    )
    assert amended.status_code == 200, amended.text
    hostile = await publish(agency, title=TITLE_THE_API_ALLOWS, unspsc_codes=["42131606"])
    for supplier in (alerted, bounced):
        supplier_id: str = supplier["id"]
        await eventually(
            lambda: deliveries(http, platform, supplier_id),  # noqa: B023 - awaited at once
            until=lambda rows: settled_email(rows, 3),
        )
    await write_past_the_api(platform, hostile["id"], bounced["id"])
    tenders = f"{platform.topic_prefix}{topics.TENDERS}"
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(tenders, b"<script>not json</script>", key=b"poison")
    finally:
        await producer.stop()
    dead_letter_topic = topics.dead_letter_topic(tenders, "matching")
    letters = await read_until(platform.kafka, dead_letter_topic, lambda seen: len(seen) >= 1)
    return Scenario(
        agency=agency,
        tender_id=notice["id"],
        hostile_tender_id=hostile["id"],
        alerted=alerted,
        bounced=bounced,
        dead_letter_ref=f"{dead_letter_topic}:{letters[0].partition}:{letters[0].offset}",
    )


async def write_past_the_api(platform: Platform, tender_id: str, supplier_id: str) -> None:
    notices = await asyncpg.connect(platform.dsns["notices"])
    try:
        await notices.execute(
            "UPDATE notices SET title = $2 WHERE id = $1", tender_id, HOSTILE_TITLE
        )
    finally:
        await notices.close()
    matching = await asyncpg.connect(platform.dsns["matching"])
    try:
        await matching.execute(
            "UPDATE tenders SET snapshot = jsonb_set(snapshot, '{title}', to_jsonb($2::text))"
            " WHERE tender_id = $1",
            tender_id,
            HOSTILE_TITLE,
        )
        await matching.execute(
            "UPDATE suppliers SET legal_name = $2 WHERE id = $1", supplier_id, HOSTILE_NAME
        )
    finally:
        await matching.close()


def pages(s: Scenario) -> list[str]:
    return [
        "/",
        "/feed",
        "/tenders",
        "/tenders?q=gowns",
        f"/tenders/{s.tender_id}",
        "/suppliers?q=Sahel",
        f"/suppliers/{s.alerted['id']}",
        f"/suppliers/{s.alerted['id']}?tender={s.tender_id}",
        "/deliveries/failed",
        "/deliveries/failed?problem=bounced",
        "/dead-letters",
        f"/dead-letters/{s.dead_letter_ref}",
        "/lag",
    ]


async def test_every_page_opens_with_the_token_as_bearer_or_as_basic_password(
    console: BackgroundServer, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    statuses = {}
    for path in pages(scenario):
        bearer = await http.get(f"{console.url}{path}", headers=OPERATOR_HEADERS)
        browser = await http.get(f"{console.url}{path}", headers=basic("anyone", TOKEN))
        statuses[path] = (bearer.status_code, browser.status_code)
        assert bearer.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in bearer.headers["content-security-policy"]
    assert statuses == {path: (200, 200) for path in statuses}


async def test_health_ready_and_metrics_need_no_token(
    console: BackgroundServer, http: httpx.AsyncClient
) -> None:
    for path in ("/health", "/ready", "/metrics"):
        response = await http.get(f"{console.url}{path}")
        assert response.status_code == 200, (path, response.text)
    assert (await http.get(f"{console.url}/ready")).json() == {"status": "ready"}


async def test_with_a_database_down_the_console_still_starts_and_says_what_is_missing(
    platform: Platform, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    settings = console_settings(platform, OPERATOR_TOKEN)
    settings.notify_database_url = with_database(platform.dsns["notify"], "no_such_database")
    degraded = BackgroundServer(create_app(settings), port=free_port())
    await degraded.start()
    try:
        answers = {
            path: await http.get(f"{degraded.url}{path}", headers=OPERATOR_HEADERS)
            for path in ("/ready", "/", "/deliveries/failed", f"/tenders/{scenario.tender_id}")
        }
    finally:
        await degraded.stop()
    assert {path: r.status_code for path, r in answers.items()} == {
        "/ready": 503,
        "/": 200,
        "/deliveries/failed": 503,
        f"/tenders/{scenario.tender_id}": 503,
    }
    assert "no_such_database" in answers["/deliveries/failed"].text
    assert "delivery failures: " in answers["/"].text  # the part that failed, named
    assert "Isolation gowns for health centres in Dakar" in answers["/"].text  # the rest works


async def test_a_hostile_tender_title_is_shown_as_text(
    console: BackgroundServer, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    for path in (
        f"/tenders/{scenario.hostile_tender_id}",
        "/",
        "/tenders?q=masks",
        f"/suppliers/{scenario.alerted['id']}",
    ):
        body = (await http.get(f"{console.url}{path}", headers=OPERATOR_HEADERS)).text
        assert "<script>alert" not in body, path
        assert "<img src=x" not in body, path
        assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in body, path
    bounced = await http.get(
        f"{console.url}/suppliers/{scenario.bounced['id']}", headers=OPERATOR_HEADERS
    )
    assert "<script>alert('name')" not in bounced.text
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; Textiles" in bounced.text


async def test_the_tender_page_shows_revisions_matches_and_delivery_states(
    console: BackgroundServer, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    response = await http.get(
        f"{console.url}/tenders/{scenario.tender_id}", headers=OPERATOR_HEADERS
    )
    body = response.text
    assert "Isolation gowns for health centres in Dakar" in body
    assert "amended, revision 2" in body
    assert "r1 published" in body
    assert "r2 amended: deadline changed (More time for bidders)" in body
    for supplier_id in (scenario.alerted["id"], scenario.bounced["id"]):
        assert f"matched supplier {supplier_id}" in body
    assert 'class="state state-sent"' in body
    assert 'class="state state-failed"' in body
    assert "SMTP 550" in body
    assert f"{topics.TENDERS}" in body
    # The bounced address is in the SMTP error the trace shows; only its masked form is.
    assert scenario.bounced["email"] not in body


async def test_an_unknown_tender_gets_a_clear_not_found_page(
    console: BackgroundServer, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{console.url}/tenders/no-such-tender", headers=OPERATOR_HEADERS)
    assert response.status_code == 404
    assert "no tender &#39;no-such-tender&#39; in notices" in response.text


async def test_the_tender_search_finds_by_reference_or_title_and_jumps_to_an_exact_id(
    console: BackgroundServer, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    by_title = await http.get(
        f"{console.url}/tenders", params={"q": "in Dakar"}, headers=OPERATOR_HEADERS
    )
    by_id = await http.get(
        f"{console.url}/tenders", params={"q": scenario.tender_id}, headers=OPERATOR_HEADERS
    )
    wildcard = await http.get(
        f"{console.url}/tenders", params={"q": "%_"}, headers=OPERATOR_HEADERS
    )
    assert f"/tenders/{scenario.tender_id}" in by_title.text
    assert by_id.status_code == 307
    assert by_id.headers["location"] == f"/tenders/{scenario.tender_id}"
    assert "0 tender(s)" in wildcard.text
    nul = await http.get(f"{console.url}/tenders", params={"q": "a\x00"}, headers=OPERATOR_HEADERS)
    assert nul.status_code == 422


async def test_the_supplier_page_masks_contacts_and_explains_an_alert(
    console: BackgroundServer, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    supplier = scenario.alerted
    page = await http.get(f"{console.url}/suppliers/{supplier['id']}", headers=OPERATOR_HEADERS)
    why = await http.get(
        f"{console.url}/suppliers/{supplier['id']}",
        params={"tender": scenario.tender_id},
        headers=OPERATOR_HEADERS,
    )
    bounced = await http.get(
        f"{console.url}/suppliers/{scenario.bounced['id']}", headers=OPERATOR_HEADERS
    )
    assert supplier["email"] not in page.text
    assert "b***@example.org" in page.text
    assert "+221771234567" not in page.text
    assert "+221 *** ** 67" in page.text
    assert f"/tenders/{scenario.tender_id}" in page.text  # its matches and deliveries
    assert 'class="state state-sent"' in page.text
    assert "alerted:" in why.text
    assert f"tw why {supplier['id']} {scenario.tender_id}" in why.text
    assert "email: SMTP 550" in bounced.text  # the address is suppressed
    assert "state state-suppressed" in bounced.text  # so its later alerts were not sent
    missing = await http.get(f"{console.url}/suppliers/nobody", headers=OPERATOR_HEADERS)
    assert missing.status_code == 404
    nul = await http.get(f"{console.url}/suppliers/a%00b", headers=OPERATOR_HEADERS)
    assert nul.status_code == 404


async def test_delivery_failures_list_the_bounce_newest_first(
    console: BackgroundServer, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    bounced = await http.get(
        f"{console.url}/deliveries/failed", params={"problem": "bounced"}, headers=OPERATOR_HEADERS
    )
    retrying = await http.get(
        f"{console.url}/deliveries/failed",
        params={"problem": "retrying"},
        headers=OPERATOR_HEADERS,
    )
    assert f"/suppliers/{scenario.bounced['id']}" in bounced.text
    assert "SMTP 550" in bounced.text
    assert scenario.bounced["email"] not in bounced.text
    assert f"/suppliers/{scenario.alerted['id']}" not in bounced.text
    assert "No delivery failures of this kind" in retrying.text


async def test_dead_letters_are_listed_and_shown_with_the_replay_command_to_copy(
    console: BackgroundServer, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    ref = scenario.dead_letter_ref
    listing = await http.get(f"{console.url}/dead-letters", headers=OPERATOR_HEADERS)
    detail = await http.get(f"{console.url}/dead-letters/{ref}", headers=OPERATOR_HEADERS)
    malformed = await http.get(f"{console.url}/dead-letters/not-a-ref", headers=OPERATOR_HEADERS)
    assert f"/dead-letters/{quote(ref, safe='')}" in listing.text
    assert "invalid envelope" in listing.text
    assert f"tw dlq replay {ref}" in detail.text
    assert "&lt;script&gt;not json&lt;/script&gt;" in detail.text
    assert "<script>not json" not in detail.text
    assert "<form" not in detail.text.split("</header>")[1]  # read-only: nothing to submit
    assert malformed.status_code == 404


async def test_the_feed_stream_stops_on_the_server_when_the_client_goes_away(
    console: BackgroundServer, scenario: Scenario, http: httpx.AsyncClient
) -> None:
    async def open_streams() -> float:
        metrics = (await http.get(f"{console.url}/metrics")).text
        line = next(m for m in metrics.splitlines() if m.startswith("tw_console_feed_streams "))
        return float(line.split()[1])

    assert await eventually(open_streams, until=lambda n: n == 0) == 0
    async with http.stream(
        "GET", f"{console.url}/feed/stream", params={"last": 3}, headers=OPERATOR_HEADERS
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        async for line in lines:
            if line == "event: ready":
                break
        async for line in lines:
            if line.startswith("data: "):
                break
        assert await open_streams() == 1
    assert await eventually(open_streams, until=lambda n: n == 0) == 0


@dataclass
class Browser:
    page: Page
    dialogs: list[str]


@pytest_asyncio.fixture(scope="module")
async def browser(console: BackgroundServer) -> AsyncIterator[Browser]:
    """Headless Chromium logged in the way an operator's browser is: HTTP Basic, any user."""
    executable = chromium_or_skip()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await chromium.new_context(
                http_credentials={"username": "operator", "password": TOKEN},
                viewport={"width": 1280, "height": 900},
            )
            context.set_default_timeout(BROWSER_WAIT_MS)
            expect.set_options(timeout=BROWSER_WAIT_MS)
            page = await context.new_page()
            opened = Browser(page, [])
            page.on("dialog", lambda dialog: opened.dialogs.append(dialog.message))
            yield opened
            await context.close()
        finally:
            await chromium.close()


async def test_in_chromium_a_new_tender_appears_in_the_live_feed_without_a_reload(
    platform: Platform, console: BackgroundServer, scenario: Scenario, browser: Browser
) -> None:
    page = browser.page
    await page.goto(f"{console.url}/feed?topic={topics.TENDERS}&last=0")
    # "live" comes once the stream's starting positions are fixed: a tender published after
    # that must arrive.
    await expect(page.locator("#feed-status")).to_have_attribute("data-state", "live")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    fresh = await publish(scenario.agency, title="Oxygen concentrators, 10 L/min")

    row = page.locator(f'#feed-rows tr[data-tender="{fresh["id"]}"]')
    await expect(row).to_have_attribute("data-type", "tender.published")
    await expect(row).to_contain_text(f"{topics.TENDERS} [")
    assert navigations == []

    # Anyone who can write to the topic can put markup in an event: the row shows it as text.
    hostile_id = "<img src=x onerror=alert('feed')>"
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        hostile_event = {
            "id": "hostile-1",
            "type": "tender.published",
            "source": "x",
            "subject": hostile_id,
            "data": {"tender": {"tender_id": hostile_id}},
        }
        await producer.send_and_wait(
            f"{platform.topic_prefix}{topics.TENDERS}",
            json.dumps(hostile_event).encode(),
            key=b"hostile",
        )
    finally:
        await producer.stop()
    await expect(page.locator("#feed-rows").get_by_text(hostile_id)).to_be_visible()
    assert browser.dialogs == []


async def test_in_chromium_the_tender_timeline_reads_well(
    console: BackgroundServer, scenario: Scenario, browser: Browser, tmp_path: Path
) -> None:
    page = browser.page
    await page.goto(f"{console.url}/tenders/{scenario.tender_id}")
    await expect(page.locator("h1")).to_have_text("Isolation gowns for health centres in Dakar")
    await expect(page.locator("#tender-status")).to_have_text("amended, revision 2")
    await expect(page.locator("#timeline li").first).to_contain_text("r1 published")
    await expect(page.locator("#timeline")).to_contain_text("r2 amended")
    await expect(page.locator("#timeline .state-sent").first).to_be_visible()
    await expect(page.locator("#timeline .state-failed").first).to_be_visible()
    await expect(page.locator("#problems")).to_contain_text("SMTP 550")

    shot = tmp_path / "timeline.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("TW_UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)


async def test_in_chromium_a_hostile_title_is_text_and_runs_nothing(
    console: BackgroundServer, scenario: Scenario, browser: Browser
) -> None:
    page = browser.page
    await page.goto(f"{console.url}/tenders/{scenario.hostile_tender_id}")
    await expect(page.locator("h1")).to_have_text(HOSTILE_TITLE)
    await page.goto(f"{console.url}/")
    await expect(page.get_by_text(HOSTILE_TITLE)).to_be_visible()
    assert browser.dialogs == []


async def test_in_chromium_the_supplier_page_masks_contacts_and_answers_why(
    console: BackgroundServer, scenario: Scenario, browser: Browser
) -> None:
    page = browser.page
    await page.goto(f"{console.url}/tenders/{scenario.tender_id}")
    await page.locator(f'#timeline a[href="/suppliers/{scenario.alerted["id"]}"]').first.click()
    await expect(page.locator("#email")).to_have_text("b***@example.org")
    await expect(page.locator("#phone")).to_have_text("+221 *** ** 67")
    await expect(page.locator("#deliveries")).to_contain_text("sent")
    await page.get_by_label("Tender id").fill(scenario.tender_id)
    await page.get_by_role("button", name="Explain").click()
    await expect(page.locator("#why-summary")).to_contain_text("alerted")


async def test_in_chromium_failures_dead_letters_and_lag(
    platform: Platform, console: BackgroundServer, scenario: Scenario, browser: Browser
) -> None:
    page = browser.page
    await page.goto(f"{console.url}/deliveries/failed")
    await expect(page.locator("#failures")).to_contain_text(scenario.bounced["id"])
    await expect(page.locator("#failures")).to_contain_text("bounced")

    await page.goto(f"{console.url}/dead-letters")
    await page.locator(
        f'a[href="/dead-letters/{quote(scenario.dead_letter_ref, safe="")}"]'
    ).click()
    await expect(page.locator("#replay-command")).to_have_text(
        f"tw dlq replay {scenario.dead_letter_ref}"
    )

    await page.goto(f"{console.url}/lag")
    await expect(page.locator("#lag")).to_contain_text("matching")
    await expect(page.locator("#lag")).to_contain_text(f"{platform.topic_prefix}{topics.TENDERS}")
