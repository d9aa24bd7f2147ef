"""`tw trace TENDER`, run as the operator runs it: a delivered tender, one nobody matched, a
failed delivery, an amended tender, an event stuck before matching, ids that name nothing, and
a database that cannot be reached.

Each test uses its own UNSPSC segment, so the suppliers of one never match another's tender.
"""

from __future__ import annotations

import os

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tenderwire_console.read_models.trace import TenderTrace, TraceStep, trace_tender
from tenderwire_matching.bootstrap import create_app as matching_app
from tenderwire_shared import topics
from tests.support.eventually import eventually
from tests.support.kafka_reader import read_until
from tests.support.matching_helpers import publish, register, seen_by_matching, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries, settled
from tests.support.platform import Platform, running
from tests.support.tw_cli import run_tw

pytestmark = pytest.mark.integration


async def run_tw_trace(platform: Platform, *args: str, **env: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `tw trace ARGS`; `env` overrides the platform's."""
    return await run_tw("trace", *args, env={**platform.operator_env(), **env})


async def tw_trace(platform: Platform, tender_id: str) -> tuple[int, TenderTrace]:
    code, out, err = await run_tw_trace(platform, tender_id, "--json")
    assert out.strip(), err
    return code, TenderTrace.model_validate_json(out)


@pytest_asyncio.fixture(scope="module")
async def agency(platform: Platform) -> tuple[str, str]:
    return await platform.new_agency()


def kinds(trace: TenderTrace) -> list[tuple[str, str]]:
    return [(s.service, s.kind) for s in trace.steps]


def only(trace: TenderTrace, service: str, kind: str) -> TraceStep:
    (step,) = [s for s in trace.steps if (s.service, s.kind) == (service, kind)]
    return step


async def test_a_delivered_tender_is_traced_from_revision_to_sent_mail(
    platform: Platform, http: httpx.AsyncClient, agency: tuple[str, str]
) -> None:
    supplier = await register(http, platform, unspsc_codes=["43211500"])
    notice = await publish(Agency(http, platform, *agency), unspsc_codes=["43211503"])
    await eventually(
        lambda: deliveries(http, platform, supplier["id"]), until=lambda r: settled(r, 1)
    )

    code, trace = await tw_trace(platform, notice["id"])

    assert (code, trace.found, trace.problems) == (0, True, [])
    assert (trace.title, trace.agency, trace.status, trace.revision) == (
        notice["title"],
        agency[0],
        "published",
        1,
    )
    assert kinds(trace) == [
        ("notices", "revision"),
        ("notices", "event_published"),
        ("matching", "event_consumed"),
        ("matching", "match"),
        ("matching", "event_published"),
        ("notify", "event_consumed"),
        ("notify", "delivery"),
    ]
    tender_event = only(trace, "notices", "event_published")
    consumed = only(trace, "matching", "event_consumed")
    match_event = only(trace, "matching", "event_published")
    delivery = only(trace, "notify", "delivery")
    assert tender_event.topic == f"{platform.topic_prefix}{topics.TENDERS}"
    assert tender_event.event_type == "tender.published"
    # Matching consumed the very record notices published, where notices says it landed.
    assert (consumed.event_id, consumed.topic, consumed.partition, consumed.offset) == (
        tender_event.event_id,
        tender_event.topic,
        tender_event.partition,
        tender_event.offset,
    )
    assert only(trace, "matching", "match").supplier_id == supplier["id"]
    assert (match_event.event_type, match_event.supplier_id) == ("match.new", supplier["id"])
    assert match_event.topic == f"{platform.topic_prefix}{topics.MATCHES}"
    assert only(trace, "notify", "event_consumed").offset == match_event.offset
    assert (delivery.supplier_id, delivery.channel, delivery.state, delivery.attempts) == (
        supplier["id"],
        "email",
        "sent",
        1,
    )
    assert trace.counts["deliveries_sent"] == 1
    assert "1 supplier(s) matched" in trace.summary

    # Kafka itself, read independently, holds that event at that partition and offset.
    assert tender_event.topic is not None
    (record,) = await read_until(
        platform.kafka,
        tender_event.topic,
        lambda seen: len(seen) >= 1,
        keep=lambda s: (s.partition, s.offset) == (tender_event.partition, tender_event.offset),
    )
    assert record.key == notice["id"].encode()
    assert record.headers["event_id"].decode() == tender_event.event_id
    assert record.json()["id"] == tender_event.event_id


async def test_a_tender_nobody_matched_has_nothing_to_deliver(
    platform: Platform, http: httpx.AsyncClient, agency: tuple[str, str]
) -> None:
    await register(http, platform, unspsc_codes=["44121600"])  # another family: not a match
    notice = await publish(Agency(http, platform, *agency), unspsc_codes=["44101501"])
    await seen_by_matching(platform, notice["id"], 1)

    code, trace = await tw_trace(platform, notice["id"])

    assert (code, trace.problems) == (0, [])
    assert "nobody matched" in trace.summary
    assert trace.counts["matches"] == trace.counts["deliveries"] == 0
    assert kinds(trace) == [
        ("notices", "revision"),
        ("notices", "event_published"),
        ("matching", "event_consumed"),
        ("matching", "match"),  # the "nobody matched" line
    ]
    assert "nobody matched" in trace.steps[-1].summary


async def test_a_failed_delivery_is_a_problem_with_its_smtp_error(
    platform: Platform, http: httpx.AsyncClient, agency: tuple[str, str]
) -> None:
    bounced = await register(
        http, platform, unspsc_codes=["45111600"], email=f"{unique('bounce')}@example.org"
    )
    notice = await publish(Agency(http, platform, *agency), unspsc_codes=["45111609"])
    await eventually(
        lambda: deliveries(http, platform, bounced["id"]), until=lambda r: settled(r, 1)
    )

    code, trace = await tw_trace(platform, notice["id"])

    assert code == 3
    (problem,) = trace.problems
    assert "1 delivery failed" in problem
    assert bounced["id"] in problem
    assert "SMTP 550" in problem
    delivery = only(trace, "notify", "delivery")
    assert delivery.state == "failed"
    assert delivery.error is not None
    assert delivery.error.startswith("SMTP 550")
    assert trace.counts["deliveries_failed"] == 1
    assert "0 of 1 deliveries sent, 1 failed" in trace.summary
    human_code, human, _ = await run_tw_trace(platform, notice["id"])
    assert human_code == 3
    assert trace.summary in human
    assert f"problem: {' '.join(problem.split())}" in " ".join(human.split())


async def test_an_amended_tender_shows_both_revisions_in_order(
    platform: Platform, http: httpx.AsyncClient, agency: tuple[str, str]
) -> None:
    notices = Agency(http, platform, *agency)
    supplier = await register(http, platform, unspsc_codes=["46181500"])
    notice = await publish(notices, unspsc_codes=["46181503"])
    response = await notices.amend(
        notice["id"], {"reason": "Quantities revised", "title": "Protective gloves, revised"}
    )
    assert response.status_code == 200, response.text
    await eventually(
        lambda: deliveries(http, platform, supplier["id"]), until=lambda r: settled(r, 2)
    )

    code, trace = await tw_trace(platform, notice["id"])

    assert (code, trace.problems) == (0, [])
    assert (trace.status, trace.revision) == ("amended", 2)
    revisions = [s for s in trace.steps if s.kind == "revision"]
    assert [(s.revision, s.event_type) for s in revisions] == [
        (1, "tender.published"),
        (2, "tender.amended"),
    ]
    assert "title changed (Quantities revised)" in revisions[1].summary
    events = [s for s in trace.steps if (s.service, s.kind) == ("notices", "event_published")]
    assert [(e.event_type, e.revision) for e in events] == [
        ("tender.published", 1),
        ("tender.amended", 2),
    ]
    # One key, one partition: the amendment lands after the publication.
    assert events[0].partition == events[1].partition
    assert events[0].offset is not None
    assert events[1].offset is not None
    assert events[0].offset < events[1].offset
    assert [s.state for s in trace.steps if s.kind == "delivery"] == ["sent", "sent"]
    alerts = [s.summary for s in trace.steps if s.kind == "match"]
    assert "new alert for r1" in alerts[0]
    assert "amended alert for r2" in alerts[1]
    assert (trace.counts["revisions"], trace.counts["events"]) == (2, 2)


async def test_unknown_and_hostile_ids_are_not_found(platform: Platform) -> None:
    code, trace = await tw_trace(platform, "no-such-tender")
    long_code, long_trace = await tw_trace(platform, "x" * 20_000)
    # The byte 0xff, which is no UTF-8, as the shell would pass it.
    bad_bytes_code, bad_bytes = await tw_trace(platform, os.fsdecode(b"bad\xffbyte"))

    assert (code, trace.found, trace.steps) == (1, False, [])
    assert "no tender 'no-such-tender'" in trace.summary
    assert (long_code, long_trace.found) == (1, False)
    assert len(long_trace.summary) < 200
    assert (bad_bytes_code, bad_bytes.found, bad_bytes.tender_id) == (1, False, "bad\\udcffbyte")
    dsns = (platform.dsns["notices"], platform.dsns["matching"], platform.dsns["notify"])
    # argv cannot carry these; the web console can.
    for hostile in ("nul\x00byte", "lone \udcff surrogate", "'; DROP TABLE notices; --"):
        hostile_trace = await trace_tender(*dsns, hostile)
        assert (hostile_trace.found, hostile_trace.exit_code()) == (False, 1)


async def test_an_unreachable_database_is_named_and_no_answer_is_printed(
    platform: Platform,
) -> None:
    code, out, err = await run_tw_trace(
        platform,
        "any-tender",
        "--json",
        TW_MATCHING_DATABASE_URL="postgresql://tw:secret@127.0.0.1:1/matching",
    )

    assert (code, out) == (8, "")
    assert "cannot reach the matching database" in err
    assert "secret" not in err
    assert "Traceback" not in err


async def _wait_until_published(platform: Platform, tender_id: str) -> None:
    async def published() -> bool:
        conn = await asyncpg.connect(platform.dsns["notices"])
        try:
            return bool(
                await conn.fetchval(
                    "SELECT bool_and(published_at IS NOT NULL) FROM outbox WHERE key = $1",
                    tender_id,
                )
            )
        finally:
            await conn.close()

    await eventually(published, until=bool)


async def test_an_event_matching_has_not_consumed_is_a_problem_until_it_is(
    platform: Platform, http: httpx.AsyncClient, agency: tuple[str, str]
) -> None:
    assert platform.matching is not None
    await platform.matching.stop()
    try:
        notice = await publish(Agency(http, platform, *agency), unspsc_codes=["47131800"])
        await _wait_until_published(platform, notice["id"])

        stuck_code, stuck = await tw_trace(platform, notice["id"])
    finally:
        platform.matching = running(matching_app(platform.matching_settings()))
        await platform.matching.start()
    await seen_by_matching(platform, notice["id"], 1)
    code, trace = await tw_trace(platform, notice["id"])

    assert stuck_code == 3
    (problem,) = stuck.problems
    event = only(stuck, "notices", "event_published")
    assert f"event {event.event_id} (tender.published r1)" in problem
    assert "not consumed by matching yet" in problem
    assert "matching consumed 0 of 1 event(s)" in stuck.summary
    assert (code, trace.problems) == (0, [])
