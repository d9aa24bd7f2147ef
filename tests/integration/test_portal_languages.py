"""Every portal page in each of the seven languages, over the real stack: no English left
outside English (each message's English pieces, as the catalog holds them, looked for in the
page's text), and Arabic right to left. Signed-in pages speak the supplier's own language, so
the supplier's language is changed between rounds, as the preferences page would."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from html import unescape
from importlib.resources import files
from pathlib import Path

import asyncpg
import httpx
import pytest

from tenderwire_matching.portal import repository as portal_repository
from tenderwire_shared.i18n import LANGUAGES
from tenderwire_shared.i18n import catalogs as babel_catalogs
from tests.support import untranslated
from tests.support.matching_helpers import publish, register
from tests.support.notices_api import Agency
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

SOURCE = babel_catalogs.CatalogSource(Path(str(files("tenderwire_matching"))))
_TAG = re.compile(r"<[^>]*>")


def english_left(html: str, language: str) -> list[str]:
    text = " ".join(unescape(_TAG.sub(" ", html)).split())
    return untranslated.english_left(text, SOURCE, language)


async def set_language(platform: Platform, supplier_id: str, language: str) -> None:
    conn = await asyncpg.connect(platform.dsns["matching"])
    try:
        await conn.execute(
            "UPDATE suppliers SET language = $2 WHERE id = $1", supplier_id, language
        )
    finally:
        await conn.close()


async def test_every_portal_page_reads_in_each_language_with_no_english_left(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    code, key = await platform.new_agency()
    tender = await publish(Agency(http, platform, code, key), unspsc_codes=["25172505"])
    supplier = await register(
        http, platform, unspsc_codes=["25172505"], phone="+221 77 555 01 99", language="en"
    )
    token = secrets.token_urlsafe(32)
    conn = await asyncpg.connect(platform.dsns["matching"])
    try:
        await portal_repository.start_session(
            conn, token, supplier["id"], datetime.now(UTC) + timedelta(hours=1)
        )
    finally:
        await conn.close()
    signed_pages = [
        "/portal/",
        "/portal/account",
        "/portal/contacts",
        "/portal/tokens",
        "/portal/verify-phone",
        "/portal/delete-account",
        "/portal/preferences",
        "/portal/codes",
        "/portal/codes?q=gowns",
        "/portal/alerts",
        f"/portal/follow/{tender['id']}",
    ]
    open_pages = [
        "/portal/register",
        "/portal/sign-in",
        "/portal/verify-email?token=forged",
        "/portal/sign-in/link?token=forged",
    ]
    left: dict[tuple[str, str], list[str]] = {}
    directions: dict[str, set[str]] = {}
    base = platform.matching.url
    async with (
        httpx.AsyncClient(base_url=base, cookies={"tw_portal_session": token}) as signed,
        httpx.AsyncClient(base_url=base) as anonymous,
    ):
        for language in LANGUAGES:
            await set_language(platform, supplier["id"], language)
            pages = [
                *[(path, await signed.get(path)) for path in signed_pages],
                *[
                    (path, await anonymous.get(path, params={"lang": language}))
                    for path in open_pages
                ],
            ]
            for path, page in pages:
                assert page.status_code < 500, (path, page.status_code)
                assert f'<html lang="{language}"' in page.text, (path, language)
                found = re.search(r'<html lang="\w+" dir="(\w+)"', page.text)
                directions.setdefault(language, set()).add(found.group(1) if found else "")
                if language != "en":
                    english = english_left(page.text, language)
                    if english:
                        left[(language, path)] = english

    assert left == {}
    assert directions["ar"] == {"rtl"}
    assert all(d == {"ltr"} for lang, d in directions.items() if lang != "ar")
