"""The notice lifecycle over HTTP, with its events on real Kafka and its rows in PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio
from jsonschema import Draft202012Validator

from tenderwire_shared.contracts import event_json_schema
from tests.support.eventually import eventually
from tests.support.notices_api import Agency, closed, in_days, published, tender_events
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def agency(platform: Platform, http: httpx.AsyncClient) -> Agency:
    code, key = await platform.new_agency()
    return Agency(http, platform, code, key)


def messages(response: httpx.Response) -> str:
    """What an error says, in the one error format: a list of problems, each with a msg."""
    problems = response.json()["detail"]
    assert isinstance(problems, list), problems
    return "; ".join(p["msg"] for p in problems)


async def test_a_notice_lives_through_amendments_closing_and_award_with_one_event_each(
    platform: Platform, agency: Agency
) -> None:
    notice = await published(agency)
    first = await agency.amend(notice["id"], {"reason": "Clarified scope", "title": "Gowns, lot 2"})
    assert first.status_code == 200, first.text
    extension = await agency.amend(
        notice["id"], {"reason": "More time for bidders", "deadline": in_days(1, offset_hours=3)}
    )
    assert extension.status_code == 200, extension.text
    assert extension.json()["deadline_local"].endswith("+03:00")

    platform.clock.advance(timedelta(days=2))
    try:
        await eventually(lambda: agency.get(notice["id"]), until=lambda n: n["status"] == "closed")
    finally:
        platform.clock.advance(timedelta(days=-2))
    awarded = await agency.award(notice["id"])
    assert awarded.status_code == 200, awarded.text

    final = await agency.get(notice["id"])
    assert final["status"] == "awarded"
    assert final["award"]["supplier_country"] == "SEN"
    assert [(r["revision"], r["event_type"], r["reason"]) for r in final["revisions"]] == [
        (1, "tender.published", None),
        (2, "tender.amended", "Clarified scope"),
        (3, "tender.amended", "More time for bidders"),
        (4, "tender.closed", None),
        (5, "tender.awarded", None),
    ]
    title_change = final["revisions"][1]["changes"]
    assert title_change == [
        {"field": "title", "before": "Isolation gowns for health centres", "after": "Gowns, lot 2"}
    ]
    events = await tender_events(platform, notice["id"], count=5)
    envelopes = [e.json() for e in events]
    assert [(e["type"], e["data"]["tender"]["revision"]) for e in envelopes] == [
        ("tender.published", 1),
        ("tender.amended", 2),
        ("tender.amended", 3),
        ("tender.closed", 4),
        ("tender.awarded", 5),
    ]
    assert {e.partition for e in events} == {events[0].partition}
    for envelope in envelopes:  # what went over the wire honours the published contract
        Draft202012Validator(event_json_schema(envelope["type"])).validate(envelope)
    assert envelopes[2]["data"]["changes"][0]["field"] == "deadline"


@pytest.mark.parametrize("stage", ["published", "amended", "closed"])
async def test_a_notice_can_be_cancelled_at_any_point_before_the_award(
    platform: Platform, agency: Agency, stage: str
) -> None:
    if stage == "closed":
        notice = await closed(agency, platform)
    else:
        notice = await published(agency)
        if stage == "amended":
            await agency.amend(notice["id"], {"reason": "typo", "description": "Fixed"})

    response = await agency.cancel(notice["id"], "Budget withdrawn")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellation_reason"] == "Budget withdrawn"


async def test_illegal_transitions_are_refused_with_409_saying_why(
    platform: Platform, agency: Agency
) -> None:
    open_notice = await published(agency)
    early_award = await agency.award(open_notice["id"])
    assert early_award.status_code == 409
    assert "still open" in messages(early_award)

    closed_notice = await closed(agency, platform)
    late_amendment = await agency.amend(closed_notice["id"], {"reason": "r", "title": "New"})
    assert late_amendment.status_code == 409
    assert "deadline has passed" in messages(late_amendment)

    assert (await agency.award(closed_notice["id"])).status_code == 200
    assert (await agency.award(closed_notice["id"])).status_code == 409
    after_award = await agency.cancel(closed_notice["id"], "too late")
    assert after_award.status_code == 409
    assert "awarded" in messages(after_award)

    cancelled = await published(agency)
    await agency.cancel(cancelled["id"], "withdrawn")
    for response in (
        await agency.amend(cancelled["id"], {"reason": "r", "title": "x"}),
        await agency.cancel(cancelled["id"], "again"),
        await agency.award(cancelled["id"]),
    ):
        assert response.status_code == 409
        assert "final" in messages(response)
    assert (await agency.get(cancelled["id"]))["revision"] == 2


async def test_an_amendment_that_changes_nothing_or_moves_the_deadline_into_the_past_is_refused(
    agency: Agency,
) -> None:
    notice = await published(agency)
    # One with only a reason is refused by validation alone: services/notices/tests/test_api.py.
    same = await agency.amend(notice["id"], {"reason": "r", "title": notice["title"]})
    past = await agency.amend(notice["id"], {"reason": "r", "deadline": in_days(-1)})
    assert (same.status_code, past.status_code) == (422, 422)
    assert past.json()["detail"][0]["loc"] == ["body", "deadline"]
    assert (await agency.get(notice["id"]))["revision"] == 1


async def test_a_retried_request_with_the_same_idempotency_key_publishes_once(
    platform: Platform, agency: Agency
) -> None:
    notice = a_notice(deadline=in_days(10))
    first = await agency.publish(notice, key="retry-1")
    again = await agency.publish(notice, key="retry-1")
    different = await agency.publish({**notice, "title": "Another"}, key="retry-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert different.status_code == 422
    assert "different request" in messages(different)

    amend = {"reason": "extend", "deadline": in_days(12)}
    a1 = await agency.amend(first.json()["id"], amend, key="amend-1")
    a2 = await agency.amend(first.json()["id"], amend, key="amend-1")
    assert a1.json() == a2.json()
    assert a2.json()["revision"] == 2
    conn = await asyncpg.connect(platform.dsns["notices"])
    try:
        queued = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE key = $1", first.json()["id"]
        )
    finally:
        await conn.close()
    assert queued == 2


async def test_agencies_change_only_their_own_notices(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    notice = await published(agency)
    code, key = await platform.new_agency()
    other = Agency(http, platform, code, key)

    for response in (
        await other.amend(notice["id"], {"reason": "r", "title": "Hijacked"}),
        await other.cancel(notice["id"], "not mine"),
        await other.award(notice["id"]),
    ):
        assert response.status_code == 404
    assert (await agency.get(notice["id"]))["revision"] == 1
    anonymous = await http.post(agency.base, json=a_notice())
    forged = await http.post(agency.base, json=a_notice(), headers={"Authorization": "Bearer x"})
    assert (anonymous.status_code, forged.status_code) == (401, 401)


async def test_search_filters_and_pages_through_notices(
    platform: Platform, http: httpx.AsyncClient, agency: Agency
) -> None:
    ids = [
        (await published(agency, unspsc_codes=["43211500"], beneficiary_countries=["KE"]))["id"]
        for _ in range(3)
    ]
    await published(agency, unspsc_codes=["42131606"], beneficiary_countries=["SN"])
    base = agency.base

    first = await http.get(base, params={"agency": agency.code, "unspsc": "4321", "limit": 2})
    cursor = first.json()["next_cursor"]
    second = await http.get(
        base, params={"agency": agency.code, "unspsc": "4321", "limit": 2, "cursor": cursor}
    )
    kenya = await http.get(base, params={"agency": agency.code, "country": "Kenya"})
    # A bad cursor or a wildcard in a code is a 422: services/notices/tests/test_api.py.

    assert [n["id"] for n in first.json()["items"]] == ids[::-1][:2]
    assert [n["id"] for n in second.json()["items"]] == ids[:1]
    assert second.json()["next_cursor"] is None
    assert {n["id"] for n in kenya.json()["items"]} == set(ids)
