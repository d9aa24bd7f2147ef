"""A tender published, amended twice and cancelled in quick succession, for many suppliers at
once, while the SMTP sink refuses some recipients' first attempts and accepts messages in a
shuffled order: every supplier hears of the tender in revision order, and an alert a later
revision made obsolete is folded (marked 'superseded' in the ledger), never sent."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency, in_days
from tests.support.pipeline_platform import sink_and_platform
from tests.support.pipeline_sink import FaultySink
from tests.support.platform import OPERATOR_HEADERS, Platform

pytestmark = pytest.mark.integration

# Suppliers per fault mode. refuseN: N 451s before the sink accepts; the long ones keep an
# alert waiting in backoff while later revisions arrive, so it must be folded into them.
# slow: the first message is held at the sink until every revision is in the ledger, so the
# later ones must wait for it; fewer of them than SMTP lanes, so the others keep moving.
FAULT_MODES = {"plain": 10, "refuse1": 10, "refuse3": 10, "refuse6": 10, "slow": 3}
LAST_REVISION = 4  # new, amended, amended, cancelled


sink, platform = sink_and_platform(jitter_s=0.05)


async def ledger(http: httpx.AsyncClient, platform: Platform, tender_id: str) -> list[Any]:
    assert platform.notify is not None
    response = await http.get(
        f"{platform.notify.url}/v1/deliveries",
        params={"tender_id": tender_id},
        headers=OPERATOR_HEADERS,
    )
    response.raise_for_status()
    rows: list[Any] = response.json()
    return rows


async def test_every_supplier_hears_of_a_tender_in_revision_order_under_retries(
    platform: Platform, sink: FaultySink, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    emails = {
        f"{unique(kind)}@example.org".lower()
        for kind, count in FAULT_MODES.items()
        for _ in range(count)
    }
    suppliers = {
        (await register(http, platform, unspsc_codes=["43211500"], email=email))["id"]: email
        for email in emails
    }

    sink.slow_gate.clear()
    notice = await publish(agency, unspsc_codes=["43211503"], deadline=in_days(10))
    await eventually(
        lambda: asyncio.sleep(0, sink.slow_held), until=lambda n: n == FAULT_MODES["slow"]
    )
    for days in (15, 17):
        amended = await agency.amend(
            notice["id"], {"reason": f"Deadline moved to {days} days", "deadline": in_days(days)}
        )
        assert amended.status_code == 200, amended.text
    cancelled = await agency.cancel(notice["id"], "Requirement withdrawn")
    assert cancelled.status_code == 200, cancelled.text

    def settled(rows: list[Any]) -> bool:
        return len(rows) == len(suppliers) * LAST_REVISION and all(
            r["state"] not in ("queued", "sending") for r in rows
        )

    try:
        await eventually(
            lambda: ledger(http, platform, notice["id"]),
            until=lambda rows: len(rows) == len(suppliers) * LAST_REVISION,
        )
    finally:
        sink.slow_gate.set()
    rows = await eventually(lambda: ledger(http, platform, notice["id"]), until=settled, within=120)
    by_id = {r["id"]: r for r in rows}
    mails = [m for m in sink.accepted if m.to in emails]

    states = [r["state"] for r in rows]
    print(
        f"pipeline order: {len(suppliers)} suppliers, {len(rows)} ledger rows,"
        f" {states.count('sent')} sent, {states.count('superseded')} superseded,"
        f" {len(mails)} e-mails, {sum(sink.refusals.values())} refusals"
    )
    assert set(states) <= {"sent", "superseded"}, "nothing fails or stays behind"
    assert sink.refusals, "the sink refused some first attempts"
    assert "superseded" in states, "some alerts waited long enough to be folded"
    assert sorted(m.ledger_id for m in mails) == sorted(
        r["id"] for r in rows if r["state"] == "sent"
    ), "each sent row arrived once; no superseded row was sent"
    for supplier_id, email in suppliers.items():
        received = [(by_id[m.ledger_id]["revision"], m.subject) for m in sink.to(email)]
        revisions = [revision for revision, _ in received]
        assert revisions == sorted(set(revisions)), f"{email} got revisions {revisions}"
        own = [r for r in rows if r["supplier_id"] == supplier_id]
        assert sorted(r["revision"] for r in own) == list(range(1, LAST_REVISION + 1))
        for row in own:
            if row["state"] == "superseded":
                assert row["last_error"].startswith(
                    ("folded into revision", "obsolete on arrival", "nothing to send")
                ), row
        if email.startswith("slow-"):
            # Everything after the first alert came while it was with the relay: it waited,
            # and the amendments were folded into the cancellation.
            assert [(r, subject.split("]")[0] + "]") for r, subject in received] == [
                (1, "[New tender]"),
                (LAST_REVISION, "[Cancelled]"),
            ], received
        if received:
            # Folding may merge revisions, but a supplier told of the tender is first told
            # it exists and last told it was cancelled.
            assert received[0][1].startswith("[New tender]"), received
            assert received[-1] == (LAST_REVISION, received[-1][1]), received
            assert received[-1][1].startswith("[Cancelled]"), received
        else:
            assert {r["state"] for r in own} == {"superseded"}
