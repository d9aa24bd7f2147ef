"""Matching over real Kafka and PostgreSQL: the registry, each rule and filter, each
lifecycle path, backfill and replay. Refused registrations need no database: they run
in-process in services/matching/tests/test_api.py."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.support.eventually import eventually
from tests.support.matching_helpers import (
    alerts_for,
    matched_ids,
    publish,
    register,
    seen_by_matching,
    supplier,
)
from tests.support.notices_api import Agency, in_days
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def agency(platform: Platform) -> Agency:
    code, key = await platform.new_agency()
    return Agency(httpx.AsyncClient(timeout=10.0), platform, code, key)


async def test_a_supplier_manages_only_its_own_profile_with_its_token(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    base = f"{platform.matching.url}/v1/suppliers"
    mine = await register(http, platform, phone="+221 77 123 45 67", language="fr")
    other = await register(http, platform)
    duplicate = await http.post(base, json=supplier(email=mine["email"]))
    own = {"Authorization": f"Bearer {mine['token']}"}

    assert mine["phone"] == "+221771234567"
    assert duplicate.status_code == 409
    assert (await http.get(f"{base}/{mine['id']}", headers=own)).json()["language"] == "fr"
    assert (await http.get(f"{base}/{other['id']}", headers=own)).status_code == 401
    # No token at all is 401 whether or not the id exists, so it confirms nothing either.
    assert (await http.get(f"{base}/{mine['id']}")).status_code == 401
    assert (await http.get(f"{base}/no-such-supplier")).status_code == 401
    changed = await http.patch(
        f"{base}/{mine['id']}", headers=own, json={"delivery": "daily_digest", "digest_hour": 7}
    )
    assert (changed.json()["delivery"], changed.json()["digest_hour"]) == ("daily_digest", 7)
    cleared = await http.patch(f"{base}/{mine['id']}", headers=own, json={"email": None})
    assert cleared.status_code == 422
    assert (await http.delete(f"{base}/{mine['id']}", headers=own)).status_code == 204
    assert (await http.get(f"{base}/{mine['id']}", headers=own)).status_code == 401


async def test_codes_match_when_equal_or_one_level_apart_either_way(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    segment = "43"  # no other test here uses segment 43
    same = await register(http, platform, unspsc_codes=[f"{segment}211503"])
    class_above = await register(http, platform, unspsc_codes=[f"{segment}211500"])
    # No family-level supplier: registration refuses codes above class level
    # (test_matching_hostile_input), as they reach no commodity.
    sibling = await register(http, platform, unspsc_codes=[f"{segment}211504"])

    commodity = await publish(agency, unspsc_codes=[f"{segment}211503"])
    class_tender = await publish(agency, unspsc_codes=[f"{segment}211500"])
    await seen_by_matching(platform, commodity["id"], 1)
    await seen_by_matching(platform, class_tender["id"], 1)

    assert await matched_ids(platform, commodity["id"]) == {same["id"], class_above["id"]}
    # For a class-level tender its commodities are one level down.
    expected = {same["id"], class_above["id"], sibling["id"]}
    assert await matched_ids(platform, class_tender["id"]) == expected


async def test_each_optional_filter_must_pass(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    code = ["44121600"]
    anyone = await register(http, platform, unspsc_codes=code)
    for_mali = await register(http, platform, unspsc_codes=code, beneficiary_countries=["ML"])
    for_senegal = await register(http, platform, unspsc_codes=code, beneficiary_countries=["SN"])
    other_agency = await register(http, platform, unspsc_codes=code, agencies=["WFP-XYZ"])
    mine = await register(http, platform, unspsc_codes=code, agencies=[agency.code])
    bids_only = await register(
        http, platform, unspsc_codes=code, notice_types=["invitation_to_bid"]
    )
    rfq_only = await register(
        http, platform, unspsc_codes=code, notice_types=["request_for_quotation"]
    )
    accents = await register(http, platform, unspsc_codes=code, keywords=["cartouches d'ENCRE"])
    no_word = await register(http, platform, unspsc_codes=code, keywords=["stapler"])

    notice = await publish(
        agency,
        unspsc_codes=code,
        beneficiary_countries=["SN"],
        title="Cartouches d'encre pour imprimantes",
        description="Fournitures de bureau",
    )
    everywhere = await publish(
        agency, unspsc_codes=code, beneficiary_countries=[], title="Toner", description=""
    )
    await seen_by_matching(platform, notice["id"], 1)
    await seen_by_matching(platform, everywhere["id"], 1)

    passing = (anyone, for_senegal, mine, rfq_only, accents)
    assert await matched_ids(platform, notice["id"]) == {s["id"] for s in passing}
    # "Multiple destinations" passes every country filter.
    assert {for_mali["id"], for_senegal["id"]} <= await matched_ids(platform, everywhere["id"])
    for excluded in (for_mali, other_agency, bids_only, no_word):
        assert excluded["id"] not in await matched_ids(platform, notice["id"])


async def test_amendments_cancellations_and_closing_follow_the_lifecycle_rules(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    first = await register(http, platform, unspsc_codes=["45111600"])
    later = await register(http, platform, unspsc_codes=["45121500"])
    notice = await publish(agency, unspsc_codes=["45111609"])
    await seen_by_matching(platform, notice["id"], 1)

    amended = await agency.amend(
        notice["id"], {"reason": "Scope changed", "unspsc_codes": ["45121504"]}
    )
    assert amended.status_code == 200
    await seen_by_matching(platform, notice["id"], 2)
    cancelled = await agency.cancel(notice["id"], "Budget withdrawn")
    assert cancelled.status_code == 200
    await seen_by_matching(platform, notice["id"], 3)

    assert await alerts_for(platform, notice["id"]) == {
        (first["id"], "new", 1, True),
        # No longer matching, but told: it may already be preparing a bid.
        (first["id"], "amended", 2, False),
        (later["id"], "new", 2, True),
        (first["id"], "cancelled", 3, True),
        (later["id"], "cancelled", 3, True),
    }


async def test_closed_and_awarded_tenders_alert_no_one(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    watcher = await register(http, platform, unspsc_codes=["46181500"])
    notice = await publish(agency, unspsc_codes=["46181504"], deadline=in_days(1))
    await seen_by_matching(platform, notice["id"], 1)
    platform.clock.advance(timedelta(days=2))
    try:
        await eventually(lambda: agency.get(notice["id"]), until=lambda n: n["status"] == "closed")
    finally:
        platform.clock.advance(timedelta(days=-2))
    await agency.award(notice["id"])
    await seen_by_matching(platform, notice["id"], 3)
    late = await register(http, platform, unspsc_codes=["46181504"])

    assert await alerts_for(platform, notice["id"]) == {(watcher["id"], "new", 1, True)}
    assert late["id"] not in await matched_ids(platform, notice["id"])


async def test_a_new_supplier_or_new_codes_are_matched_against_open_tenders_once(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    assert platform.matching is not None
    notice = await publish(agency, unspsc_codes=["47131700"])
    other = await publish(agency, unspsc_codes=["47121700"])
    await seen_by_matching(platform, other["id"], 1)

    newcomer = await register(http, platform, unspsc_codes=["47131700"])
    headers = {"Authorization": f"Bearer {newcomer['token']}"}
    url = f"{platform.matching.url}/v1/suppliers/{newcomer['id']}"
    await http.patch(url, headers=headers, json={"unspsc_codes": ["47131700", "47121700"]})
    await http.patch(url, headers=headers, json={"unspsc_codes": ["47131700", "47121700"]})

    assert await alerts_for(platform, notice["id"]) == {(newcomer["id"], "new", 1, True)}
    assert await alerts_for(platform, other["id"]) == {(newcomer["id"], "new", 1, True)}


async def test_replaying_the_tender_topic_from_the_start_creates_no_new_match(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    await register(http, platform, unspsc_codes=["48101500"])
    notice = await publish(agency, unspsc_codes=["48101500"])
    await seen_by_matching(platform, notice["id"], 1)

    before = await outbox_size(platform)
    await platform.restart_matching_from_earliest()
    await seen_by_matching(platform, notice["id"], 1)
    after_replay = await platform.wait_for_matching_to_catch_up()

    assert after_replay >= 1  # it really read the topic again
    assert await outbox_size(platform) == before


async def outbox_size(platform: Platform) -> int:
    conn = await asyncpg.connect(platform.dsns["matching"])
    try:
        return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE topic LIKE '%matches%'"))
    finally:
        await conn.close()
