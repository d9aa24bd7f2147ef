"""Kill the notices process (relay and all) with SIGKILL in the middle of a burst, restart it,
and check on Kafka that no event is lost and each tender's events arrive in revision order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import asyncpg
import httpx
import pytest

from tenderwire_notices import services as notices_services
from tenderwire_shared import topics
from tenderwire_shared.envelope import new_event_id
from tests.support.infrastructure import free_port
from tests.support.kafka_reader import Seen, read_until
from tests.support.notices_api import in_days
from tests.support.platform import create_database
from tests.support.service_process import ServiceProcess
from tests.support.walkthrough import a_notice

pytestmark = pytest.mark.integration

TENDERS = 30
AMENDMENTS = 3


async def until_accepted(
    http: httpx.AsyncClient, url: str, body: dict[str, object], key: str, api_key: str
) -> dict[str, object]:
    """POST, retrying with the same Idempotency-Key through the outage, as a client would."""
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": key}
    while True:
        try:
            response = await http.post(url, json=body, headers=headers)
        except httpx.HTTPError:
            await asyncio.sleep(0.1)
            continue
        if response.status_code < 500:
            assert response.status_code in (200, 201), response.text
            result: dict[str, object] = response.json()
            return result
        await asyncio.sleep(0.1)


def applied_revisions(records: list[Seen]) -> dict[str, list[int]]:
    """Per tender, the revisions a consumer applies: it ignores any not newer than the last."""
    applied: dict[str, list[int]] = defaultdict(list)
    for record in records:
        event = record.json()
        revision = event["data"]["tender"]["revision"]
        history = applied[event["subject"]]
        # A batch re-sent after the crash repeats revisions already applied.
        if not history or revision > history[-1]:
            history.append(revision)
    return applied


async def burst_with_a_kill_halfway(service: ServiceProcess, api_key: str) -> None:
    """Publish and amend TENDERS notices concurrently; SIGKILL the service halfway."""
    done = 0
    half = TENDERS * (1 + AMENDMENTS) // 2
    halfway = asyncio.Event()

    def count_one() -> None:
        nonlocal done
        done += 1
        if done >= half:
            halfway.set()

    async def one_tender(i: int, http: httpx.AsyncClient) -> None:
        notice = await until_accepted(
            http,
            f"{service.url}/v1/notices",
            a_notice(reference=f"CRASH-{i}", deadline=in_days(30)),
            f"pub-{i}",
            api_key,
        )
        count_one()
        for n in range(AMENDMENTS):
            await until_accepted(
                http,
                f"{service.url}/v1/notices/{notice['id']}/amendments",
                {"reason": f"round {n}", "description": f"v{n}"},
                f"amend-{i}-{n}",
                api_key,
            )
            count_one()

    async def killer() -> None:
        await halfway.wait()
        service.kill()
        await service.start()

    try:
        async with httpx.AsyncClient(timeout=10.0) as http:
            await asyncio.gather(killer(), *(one_tender(i, http) for i in range(TENDERS)))
    finally:
        service.process.stop()


async def test_a_killed_relay_loses_no_event_and_keeps_each_tender_in_revision_order(
    kafka_bootstrap: str, postgres_dsn: str, tmp_path: Path
) -> None:
    dsn = await create_database(postgres_dsn, "notices_crash")
    prefix = f"crash{new_event_id()[-8:]}."
    service = ServiceProcess(
        "tenderwire_notices.bootstrap:create_app",
        tmp_path,
        free_port(),
        {
            "TW_NOTICES_DATABASE_URL": dsn,
            "TW_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "TW_TOPIC_PREFIX": prefix,
            "TW_LOG_LEVEL": "WARNING",
        },
    )
    await service.start()
    conn = await asyncpg.connect(dsn)
    try:
        await notices_services.create_agency(conn, "CRASH", "Crash test agency")
        api_key = await notices_services.issue_key(conn, "CRASH")
    finally:
        await conn.close()

    await burst_with_a_kill_halfway(service, api_key)

    conn = await asyncpg.connect(dsn)
    try:
        committed = {
            (r["notice_id"], r["revision"])
            for r in await conn.fetch("SELECT notice_id, revision FROM notice_revisions")
        }
    finally:
        await conn.close()
    assert len(committed) == TENDERS * (1 + AMENDMENTS)

    def seen_all(records: list[Seen]) -> bool:
        seen = {(r.json()["subject"], r.json()["data"]["tender"]["revision"]) for r in records}
        return seen >= committed

    records = await read_until(kafka_bootstrap, f"{prefix}{topics.TENDERS}", seen_all)
    print(f"relay crash: {len(records)} records on Kafka for {len(committed)} events")
    applied = applied_revisions(records)
    assert all(h == list(range(1, 2 + AMENDMENTS)) for h in applied.values()), dict(applied)
    assert len(applied) == TENDERS
