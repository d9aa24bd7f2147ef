"""Alerts in the supplier's language over the real stack (Kafka, PostgreSQL, the mail catcher
and the SMS stub): an Arabic e-mail reads right to left, a Russian digest counts in Russian
plural forms, a Chinese SMS keeps its title within its segment rule and says how to stop."""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright

from tenderwire_notify.rendering import MESSAGES
from tenderwire_notify.sms_text import (
    MAX_PARTS_FOR_A_TITLE,
    MIN_TITLE_CHARACTERS,
    how_to_stop,
    segments,
)
from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.browser import BROWSER_WAIT_MS, CHROMIUM_ARGS, chromium_or_skip
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, seen_by_matching, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries
from tests.support.platform import Platform
from tests.support.walkthrough import mail_to

pytestmark = pytest.mark.integration


async def test_an_arabic_suppliers_email_reads_right_to_left_in_arabic(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    email = f"{unique('ar')}@example.org"
    await register(
        http,
        platform,
        unspsc_codes=["27111500"],
        email=email,
        language="ar",
        timezone="Asia/Amman",
    )
    tender = await publish(Agency(http, platform, code, key), unspsc_codes=["27111501"])

    [message] = await eventually(
        lambda: mail_to(http, mail_catcher, email), until=lambda m: len(m) == 1
    )

    html = message["html"]
    assert '<html lang="ar" dir="rtl">' in html
    assert f'<bdi dir="ltr">{tender["reference"]}</bdi>' in html
    words = MESSAGES("ar")
    assert words.gettext("A tender matching your UNSPSC codes has been published.") in html
    assert words.gettext("View the notice") in html
    assert "Hello" not in message["text"]
    # The footer's link is the one the List-Unsubscribe header carries.
    link = message["headers"]["List-Unsubscribe"].strip("<>")
    assert link in message["text"]
    assert link in html


async def test_a_russian_digest_counts_its_alerts_in_russian_plural_forms(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email = f"{unique('ru')}@example.org"
    supplier = await register(
        http,
        platform,
        unspsc_codes=["43211500"],
        email=email,
        language="ru",
        timezone="Asia/Tashkent",
        delivery="daily_digest",
        digest_hour=7,
    )
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    # 05:00 in Tashkent (UTC+5) tomorrow: two hours before the digest hour.
    platform.clock.jump_to(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 0, tzinfo=UTC))
    try:
        published = [await publish(agency, unspsc_codes=["43211501"]) for _ in range(2)]
        await seen_by_matching(platform, published[-1]["id"], 1)

        async def rows() -> list[Any]:
            return await deliveries(http, platform, supplier["id"])

        await eventually(rows, until=lambda r: len(r) == 2)
        platform.clock.advance(timedelta(hours=2, minutes=30))
        first = await eventually(
            lambda: mail_to(http, mail_catcher, email), until=lambda m: len(m) == 1
        )

        more = [await publish(agency, unspsc_codes=["43211502"]) for _ in range(5)]
        await seen_by_matching(platform, more[-1]["id"], 1)
        await eventually(rows, until=lambda r: len(r) == 7)
        platform.clock.advance(timedelta(days=1))
        both = await eventually(
            lambda: mail_to(http, mail_catcher, email), until=lambda m: len(m) == 2
        )
    finally:
        platform.clock.reset()

    words = MESSAGES("ru")
    singular = "Your %(num)d tender alert since the last digest:"
    plural = "Your %(num)d tender alerts since the last digest:"
    few = words.ngettext(singular, plural, 2) % {"num": 2}  # 2, 3, 4, 22...: Russian's "few"
    many = words.ngettext(singular, plural, 5) % {"num": 5}  # 5-20, 25...: "many"
    assert few != many.replace("5", "2"), "Russian must not reuse one form for 2 and 5"
    assert few in first[0]["text"]
    assert many in both[1]["text"]
    assert re.search(r"[а-я]", first[0]["subject"])


async def test_a_chinese_sms_keeps_its_title_within_its_segment_rule_and_says_how_to_stop(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    phone = "+86 139 1099 8888"
    await register(
        http,
        platform,
        unspsc_codes=["78111500"],
        phone=phone,
        email=f"{unique('zh')}@example.org",
        language="zh",
        timezone="Asia/Shanghai",
    )
    title = (
        "为北部省份各地区卫生中心采购并安装太阳能疫苗冰箱及相关配套设备"
        "和技术培训服务以及五年维护保养合同"
    )
    await publish(Agency(http, platform, code, key), unspsc_codes=["78111501"], title=title)

    async def sent() -> list[Any]:
        return [m for m in platform.sms_gateways["primary"].messages if m.to == "+8613910998888"]

    [sms] = await eventually(sent, until=lambda m: len(m) == 1)
    assert segments(sms.body) <= MAX_PARTS_FOR_A_TITLE
    assert title[:MIN_TITLE_CHARACTERS] in sms.body
    assert sms.body.endswith("\n" + how_to_stop("zh"))
    assert "/v1/notices/" in sms.body


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "notify"


@pytest.mark.parametrize(
    ("language", "title", "description", "zone"),
    [
        (
            "ar",
            "توريد أجهزة تعقيم للمراكز الصحية",
            "توريد عشرين جهاز تعقيم بالبخار للمراكز الصحية في المحافظات الشمالية، مع التركيب"
            " والتدريب وضمان لمدة سنتين.",
            "Asia/Amman",
        ),
        (
            "zh",
            "卫生中心太阳能疫苗冰箱采购",
            "为北部省份二十个区级卫生中心采购并安装太阳能疫苗冰箱，包括培训和五年维护。",
            "Asia/Shanghai",
        ),
    ],
)
async def test_in_chromium_an_alert_email_reads_well_on_a_phone(
    platform: Platform,
    mail_catcher: MailCatcher,
    http: httpx.AsyncClient,
    tmp_path: Path,
    language: str,
    title: str,
    description: str,
    zone: str,
) -> None:
    executable = chromium_or_skip()
    code, key = await platform.new_agency()
    email = f"{unique(language)}@example.org"
    # Codes no other test uses: a supplier registering is also alerted to the open tenders it
    # matches, and each of these tests wants exactly its own.
    family = {"ar": "10101500", "zh": "11101500"}[language]
    await register(
        http, platform, unspsc_codes=[family], email=email, language=language, timezone=zone
    )
    tender = await publish(
        Agency(http, platform, code, key),
        unspsc_codes=[family[:6] + "01"],
        title=title,
        description=description,
    )
    [message] = await eventually(
        lambda: mail_to(http, mail_catcher, email), until=lambda m: len(m) == 1
    )

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await chromium.new_page(viewport={"width": 360, "height": 640})
            page.set_default_timeout(BROWSER_WAIT_MS)
            await page.set_content(message["html"])
            body_direction = await page.evaluate("getComputedStyle(document.body).direction")
            reference = page.locator("bdi", has_text=tender["reference"])
            reference_direction = await reference.evaluate("e => getComputedStyle(e).direction")
            label = page.locator("th").first
            cell = page.locator("td").first
            label_box, cell_box = await label.bounding_box(), await cell.bounding_box()
            page_width = await page.evaluate("document.documentElement.scrollWidth")
            shot = tmp_path / f"alert-email-{language}.png"
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await chromium.close()

    assert body_direction == ("rtl" if language == "ar" else "ltr")
    assert reference_direction == "ltr"  # a code stays left to right inside Arabic
    assert label_box is not None
    assert cell_box is not None
    if language == "ar":  # mirrored: the label sits to the right of its value
        assert label_box["x"] > cell_box["x"]
    else:
        assert label_box["x"] < cell_box["x"]
    assert page_width <= 360, "no sideways scrolling on a phone"
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("TW_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / shot.name)
