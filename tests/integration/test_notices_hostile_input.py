"""Hostile input over HTTP and Kafka: each gets a clear 4xx or a dead-letter record, and
nothing half-written stays in the database.

What validation alone refuses, before any database access, is in
services/notices/tests/test_api.py; what needs a notice, a key lookup or a use case is here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tenderwire_shared import topics
from tests.support.eventually import eventually
from tests.support.kafka_reader import read_until
from tests.support.notices_api import Agency, closed, command, in_days, publish_raw
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice, unique

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def agency(platform: Platform, http: httpx.AsyncClient) -> Agency:
    code, key = await platform.new_agency()
    return Agency(http, platform, code, key)


async def row_counts(platform: Platform) -> tuple[int, int, int]:
    conn = await asyncpg.connect(platform.dsns["notices"])
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM notices), (SELECT count(*) FROM notice_revisions),"
            " (SELECT count(*) FROM outbox)"
        )
    finally:
        await conn.close()
    assert row is not None
    return row[0], row[1], row[2]


async def test_a_deadline_already_past_is_refused_for_a_new_notice(agency: Agency) -> None:
    response = await agency.publish(a_notice(deadline=in_days(-1)))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "deadline"]


async def test_commands_on_the_inbound_topic_act_like_the_api_and_bad_ones_are_dead_lettered(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    reference = unique("KAFKA-RFQ")
    good = command(
        "notice.publish",
        {"agency": agency.code, "notice": a_notice(reference=reference, deadline=in_days(9))},
    )
    poison = {
        b"\xff\xfe\x00 not utf-8": "invalid envelope",
        command("notice.explode", {"agency": agency.code}): "unknown command type",
        command("notice.publish", {"agency": "NOBODY", "notice": a_notice()}): "unknown agency",
        command(
            "notice.publish",
            {"agency": agency.code, "notice": a_notice(title="<img src=x onerror=alert(1)>")},
        ): "notice.title",
        command(
            "notice.cancel",
            {"agency": agency.code, "notice_id": "missing", "cancellation": {"reason": "r"}},
        ): "NoticeNotFoundError",
    }
    for value in poison:
        await publish_raw(platform, value)
    await publish_raw(platform, good)
    await publish_raw(platform, good)  # a redelivery: the inbox drops it

    async def by_reference() -> list[Any]:
        page = await http.get(agency.base, params={"agency": agency.code})
        return [n for n in page.json()["items"] if n["reference"] == reference]

    notices = await eventually(by_reference, until=bool)
    dead = await read_until(
        platform.kafka,
        f"{platform.topic_prefix}{topics.NOTICE_COMMANDS}.notices-commands.dlt",
        lambda seen: len(seen) >= len(poison),
    )
    reasons = {d.value: d.headers["dlt_reason"].decode() for d in dead}
    for value, expected in poison.items():
        assert expected in reasons[value], (expected, reasons[value])
    assert len(notices) == 1
    assert notices[0]["agency"] == agency.code
    assert json.loads(good)["id"]  # the envelope id is what made the second copy a duplicate


async def test_a_well_formed_notice_id_of_no_notice_is_404(
    agency: Agency, http: httpx.AsyncClient
) -> None:
    # Ids with a NUL or junk in the path are 422s: services/notices/tests/test_api.py.
    assert (await http.get(f"{agency.base}/0000")).status_code == 404


# --- amendments: null means unchanged ---------------------------------------------------------

AMENDABLE = [
    "title",
    "description",
    "notice_type",
    "unspsc_codes",
    "beneficiary_countries",
    "deadline",
    "documents",
    "contacts",
]


@pytest.mark.parametrize("field", AMENDABLE)
async def test_a_null_in_an_amendment_leaves_the_field_as_it_was(
    agency: Agency, field: str
) -> None:
    published = await agency.publish(
        a_notice(
            deadline=in_days(5),
            documents=[{"title": "ToR", "url": "https://www.ungm.org/doc/1"}],
            contacts=[{"name": "Supply Division", "email": "supply@unicef.org"}],
        )
    )
    assert published.status_code == 201, published.text
    before = published.json()
    other = "description" if field == "title" else "title"

    # An amendment of only nulls is refused: services/notices/tests/test_api.py.
    amended = await agency.amend(before["id"], {"reason": "r", field: None, other: "Changed"})

    assert amended.status_code == 200, amended.text
    after = amended.json()
    assert after[field] == before[field]
    assert after[other] == "Changed"
    assert (await agency.get(before["id"]))["revisions"][1]["changes"][0]["field"] == other


# --- contacts and documents -------------------------------------------------------------------


async def test_a_contact_phone_is_stored_in_e164_and_the_email_normalised(agency: Agency) -> None:
    contact = {"name": "Supply", "email": "Supply@UNICEF.ORG", "phone": "+221 33 869 00 00"}

    response = await agency.publish(a_notice(deadline=in_days(5), contacts=[contact]))

    assert response.status_code == 201, response.text
    stored = (await agency.get(response.json()["id"]))["contacts"]
    assert stored == [{"name": "Supply", "email": "Supply@unicef.org", "phone": "+221338690000"}]


# --- deadlines --------------------------------------------------------------------------------


def unix_in_days(days: int) -> int:
    return int((datetime.now(UTC) + timedelta(days=days)).timestamp())


@pytest.mark.parametrize(
    ("deadline", "words"),
    [
        # Unix times and moments past the last one are refused by validation alone:
        # services/notices/tests/test_api.py.
        ("9999-12-31T23:59:59+00:00", "years ahead"),
        ((datetime.now(UTC) + timedelta(days=6 * 366)).isoformat(), "years ahead"),
    ],
)
async def test_a_deadline_years_away_is_refused_naming_it(
    platform: Platform, agency: Agency, deadline: object, words: str
) -> None:
    before = await row_counts(platform)

    response = await agency.publish(a_notice(deadline=deadline))

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "deadline"]
    assert words in problem["msg"]
    assert await row_counts(platform) == before


async def test_an_amendment_cannot_move_the_deadline_years_away_or_to_a_unix_time(
    agency: Agency,
) -> None:
    published = await agency.publish(a_notice(deadline=in_days(5)))
    notice_id = published.json()["id"]

    far = await agency.amend(notice_id, {"reason": "r", "deadline": "9999-12-31T23:59:59Z"})
    unix = await agency.amend(notice_id, {"reason": "r", "deadline": unix_in_days(20)})

    assert (far.status_code, unix.status_code) == (422, 422), (far.text, unix.text)
    assert far.json()["detail"][0]["loc"] == unix.json()["detail"][0]["loc"] == ["body", "deadline"]
    assert (await agency.get(notice_id))["revision"] == 1


async def test_search_filters_take_deadlines_with_an_offset(
    agency: Agency, http: httpx.AsyncClient
) -> None:
    # Deadlines without one are 422s: services/notices/tests/test_api.py.
    fine = await http.get(agency.base, params={"deadline_from": in_days(1)})
    assert fine.status_code == 200, fine.text


# --- awards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("award_date", "words"),
    [
        ((datetime.now(UTC) + timedelta(days=3)).date().isoformat(), "in the future"),
        ((datetime.now(UTC) - timedelta(days=3)).date().isoformat(), "before the notice"),
        # A Unix time is refused by validation alone: services/notices/tests/test_api.py.
    ],
)
async def test_an_award_dated_in_the_future_or_before_publication_is_refused_naming_date(
    platform: Platform, agency: Agency, award_date: object, words: str
) -> None:
    notice = await closed(agency, platform)

    response = await agency.award(notice["id"], date=award_date)

    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "date"]
    assert words in problem["msg"]
    assert (await agency.get(notice["id"]))["status"] == "closed"


# --- errors that name their field -------------------------------------------------------------


async def test_a_reused_idempotency_key_is_named_in_the_error(agency: Agency) -> None:
    # A malformed one, too: services/notices/tests/test_api.py.
    notice = a_notice(deadline=in_days(10))
    assert (await agency.publish(notice, key="hostile-1")).status_code == 201

    reused = await agency.publish({**notice, "title": "Another"}, key="hostile-1")

    assert reused.status_code == 422, reused.text
    (problem,) = reused.json()["detail"]
    assert problem["loc"] == ["header", "Idempotency-Key"]
    assert "different request" in problem["msg"]


async def test_an_unknown_api_key_is_named_in_the_401(
    agency: Agency, http: httpx.AsyncClient
) -> None:
    # A missing one, too: services/notices/tests/test_api.py.
    forged = await http.post(agency.base, json=a_notice(), headers={"Authorization": "Bearer x"})

    assert forged.status_code == 401, forged.text
    assert forged.headers["WWW-Authenticate"] == "Bearer"
    (problem,) = forged.json()["detail"]
    assert problem["loc"] == ["header", "Authorization"]
