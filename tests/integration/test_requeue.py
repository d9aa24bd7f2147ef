"""`tw deliveries requeue` against a real notify ledger: failed alerts chosen by tender,
supplier or time range go back in the queue and wake the worker; nothing goes out of revision
order; a dry run changes nothing; and the console shows the line to copy, safely quoted.

Ledger rows are written with SQL after notify's migrations, so these tests hold whatever the
delivery worker does with them afterwards."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shlex
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tenderwire_console.bootstrap import create_app
from tenderwire_console.settings import ConsoleSettings
from tenderwire_shared.db import create_pool, migrate
from tenderwire_stack.http_server import BackgroundServer
from tests.support.infrastructure import free_port
from tests.support.platform import OPERATOR_HEADERS, OPERATOR_TOKEN, create_database
from tests.support.tw_cli import CLI_DEADLINE_S, run_tw

pytestmark = pytest.mark.integration

WAKE_CHANNEL = "deliveries_wake"
# Sent by the test itself after a command: notifications arrive in commit order, so seeing it
# first proves the command sent none, without waiting for something not to happen.
SENTINEL = "sentinel"
NOW = datetime.now(UTC)


@dataclass
class Ledger:
    dsn: str
    conn: asyncpg.Connection[Any]
    wakes: asyncio.Queue[str]

    async def add(
        self,
        *,
        tender: str,
        supplier: str,
        revision: int = 1,
        channel: str = "email",
        state: str = "failed",
        failed_at: datetime = NOW - timedelta(hours=2),
        address: str | None = None,
        digest_id: str | None = None,
        last_error: str | None = "SMTP 554 relay refused",
    ) -> str:
        delivery_id = str(uuid.uuid4())
        kind = "new" if revision == 1 else "amended"
        default_address = f"{supplier}@example.org" if channel == "email" else "+221771234567"
        await self.conn.execute(
            "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel, address,"
            " language, timezone, match, state, attempts, last_error, digest_id, retry_since,"
            " next_attempt_at, created_at, updated_at, claimed_by)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, 'en', 'Africa/Dakar', '{}', $8, 7, $9, $10,"
            " $11, $11, $11, $11, $12)",
            delivery_id,
            supplier,
            tender,
            revision,
            kind,
            channel,
            address or default_address,
            state,
            last_error,
            digest_id,
            failed_at,
            "worker-gone" if state == "sending" else None,
        )
        return delivery_id

    async def rows(self, *ids: str) -> dict[str, dict[str, Any]]:
        found = await self.conn.fetch("SELECT * FROM deliveries WHERE id = ANY($1)", list(ids))
        return {r["id"]: dict(r) for r in found}

    async def states(self, *ids: str) -> dict[str, str]:
        return {i: r["state"] for i, r in (await self.rows(*ids)).items()}

    async def woken(self) -> bool:
        """Whether `tw` sent a wake-up since the last call (the sentinel marks the end)."""
        await self.conn.execute("SELECT pg_notify($1, $2)", WAKE_CHANNEL, SENTINEL)
        woke = False
        # Bounds only a lost sentinel; nothing asserts how quickly it arrives.
        while (payload := await asyncio.wait_for(self.wakes.get(), CLI_DEADLINE_S)) != SENTINEL:
            woke = True
            assert payload == ""
        return woke

    async def tw(self, *args: str) -> tuple[int, str, str]:
        return await run_tw("deliveries", "requeue", *args, env=self.env())

    async def tw_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        code, out, err = await self.tw(*args, "--json")
        assert out.strip(), err
        answer: dict[str, Any] = json.loads(out)
        return code, answer

    def env(self) -> dict[str, str]:
        # The console's own name would win over notify's: cleared, as an operator's shell
        # on notify's host has only TW_NOTIFY_DATABASE_URL.
        return {"TW_NOTIFY_DATABASE_URL": self.dsn, "TW_CONSOLE_NOTIFY_DATABASE_URL": self.dsn}


@pytest_asyncio.fixture
async def ledger(postgres_dsn: str) -> AsyncIterator[Ledger]:
    dsn = await create_database(postgres_dsn, "notify_requeue")
    pool = await create_pool(dsn, min_size=1, max_size=1)
    try:
        await migrate(pool, "tenderwire_notify.migrations")
    finally:
        await pool.close()
    conn = await asyncpg.connect(dsn)
    wakes: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(WAKE_CHANNEL, lambda _c, _pid, _ch, payload: wakes.put_nowait(payload))
    try:
        yield Ledger(dsn, conn, wakes)
    finally:
        await conn.close()


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


async def test_failed_alerts_chosen_by_tender_supplier_or_time_range_are_queued_and_woken(
    ledger: Ledger,
) -> None:
    t1, t2, t3, s1, s2, s3 = (unique(x) for x in ("t1", "t2", "t3", "s1", "s2", "s3"))
    by_tender = await ledger.add(tender=t1, supplier=s1)
    by_tender_other_supplier = await ledger.add(tender=t1, supplier=s2, channel="sms")
    digest_entry = await ledger.add(tender=t1, supplier=s3, digest_id="digest-1")
    already_sent = await ledger.add(tender=t1, supplier=s3, revision=2, state="sent")
    by_supplier_sms = await ledger.add(tender=t2, supplier=s2, channel="sms")
    by_supplier_email = await ledger.add(tender=t2, supplier=s2)
    too_old = await ledger.add(tender=t3, supplier=s3, failed_at=NOW - timedelta(days=10))
    in_range = await ledger.add(tender=t3, supplier=s1, failed_at=NOW - timedelta(days=3))
    too_new = await ledger.add(tender=t3, supplier=s2, failed_at=NOW - timedelta(minutes=5))
    before = await ledger.rows(by_tender)

    code, answer = await ledger.tw_json("--tender", t1)
    assert code == 0
    assert {d["id"] for d in answer["requeued"]} == {by_tender, by_tender_other_supplier}
    assert (answer["skipped"], answer["matched"], answer["dry_run"]) == ([], 2, False)
    assert await ledger.woken()
    after = (await ledger.rows(by_tender))[by_tender]
    assert (after["state"], after["attempts"], after["claimed_by"]) == ("queued", 0, None)
    assert after["last_error"] == "SMTP 554 relay refused"  # why it failed stays on record
    # A fresh horizon and an immediate try: both start at the requeue, not at the failure.
    assert after["retry_since"] > before[by_tender]["retry_since"]
    assert after["next_attempt_at"] == after["retry_since"] == after["updated_at"]
    assert await ledger.states(digest_entry, already_sent) == {
        digest_entry: "failed",
        already_sent: "sent",
    }

    code, answer = await ledger.tw_json("--supplier", s2, "--channel", "sms")
    assert code == 0
    assert [d["id"] for d in answer["requeued"]] == [by_supplier_sms]
    assert await ledger.woken()
    assert (await ledger.states(by_supplier_email))[by_supplier_email] == "failed"

    since, until = (NOW - timedelta(days=5)).isoformat(), (NOW - timedelta(hours=1)).isoformat()
    code, out, err = await ledger.tw("--since", since, "--until", until)
    assert code == 0, err
    assert "requeued 2 of 2 matching failed deliveries" in out  # in_range and by_supplier_email
    assert await ledger.woken()
    assert await ledger.states(too_old, in_range, too_new, by_supplier_email) == {
        too_old: "failed",
        in_range: "queued",
        too_new: "failed",
        by_supplier_email: "queued",
    }

    code, out, err = await ledger.tw("--tender", t1)  # all of t1's are queued now
    assert code == 1
    assert "no failed delivery matches" in err
    assert not await ledger.woken()


async def test_an_alert_whose_later_revision_has_gone_out_or_is_on_its_way_is_skipped(
    ledger: Ledger,
) -> None:
    tender, supplier, other = unique("tender"), unique("supplier"), unique("tender")
    r1_email = await ledger.add(tender=tender, supplier=supplier, revision=1)
    await ledger.add(tender=tender, supplier=supplier, revision=2, state="sent")
    r1_sms = await ledger.add(tender=tender, supplier=supplier, revision=1, channel="sms")
    r1_other = await ledger.add(tender=other, supplier=supplier, revision=1)
    r2_other = await ledger.add(tender=other, supplier=supplier, revision=2)
    r3_other = await ledger.add(tender=other, supplier=supplier, revision=3, state="sending")

    code, answer = await ledger.tw_json("--supplier", supplier)

    assert code == 0  # something was requeued; the skipped are listed with their reason
    assert [d["id"] for d in answer["requeued"]] == [r1_sms]
    skipped = {s["id"]: s["reason"] for s in answer["skipped"]}
    assert skipped.keys() == {r1_email, r1_other, r2_other}
    assert skipped[r1_email].startswith("r2 is already sent")
    assert skipped[r1_other].startswith("r3 is already sending")
    assert "out of order" in skipped[r2_other]
    assert await ledger.states(r1_email, r1_other, r2_other, r3_other) == {
        r1_email: "failed",
        r1_other: "failed",
        r2_other: "failed",
        r3_other: "sending",
    }
    assert await ledger.woken()

    code, out, err = await ledger.tw("--tender", other)
    assert code == 3, err  # matched, but nothing could be requeued
    assert "requeued 0 of 2" in out
    assert out.count("skipped") == 2
    assert not await ledger.woken()


async def test_earlier_and_later_failed_revisions_are_requeued_together_in_order(
    ledger: Ledger,
) -> None:
    tender, supplier = unique("tender"), unique("supplier")
    r1 = await ledger.add(tender=tender, supplier=supplier, revision=1)
    r2 = await ledger.add(tender=tender, supplier=supplier, revision=2)

    code, answer = await ledger.tw_json("--tender", tender)

    assert code == 0
    assert [(d["id"], d["revision"]) for d in answer["requeued"]] == [(r1, 1), (r2, 2)]
    assert answer["skipped"] == []


async def test_a_dry_run_answers_the_same_and_changes_nothing(ledger: Ledger) -> None:
    tender = unique("tender")
    plain = await ledger.add(tender=tender, supplier=unique("supplier"))
    bounced = await ledger.add(
        tender=tender, supplier=unique("supplier"), address="Bounce.Me@Example.org"
    )
    await ledger.add(tender=tender, supplier=unique("supplier"), revision=1)
    await ledger.conn.execute(
        "INSERT INTO suppressions (channel, address, reason) VALUES"
        " ('email', 'bounce.me@example.org', 'hard bounce')"
    )
    everything_before = await ledger.conn.fetch("SELECT * FROM deliveries ORDER BY id")

    dry_code, dry = await ledger.tw_json("--tender", tender, "--dry-run")

    assert await ledger.conn.fetch("SELECT * FROM deliveries ORDER BY id") == everything_before
    assert not await ledger.woken()
    code, done = await ledger.tw_json("--tender", tender)
    assert (dry_code, code) == (0, 0)
    assert (dry["dry_run"], done["dry_run"]) == (True, False)
    assert {k: v for k, v in dry.items() if k != "dry_run"} == {
        k: v for k, v in done.items() if k != "dry_run"
    }
    assert done["matched"] == 3
    assert done["to_suppressed"] == 1  # the address is compared lower-cased, as notify stores it
    shown = {d["id"]: d["to_suppressed_address"] for d in done["requeued"]}
    assert (shown[plain], shown[bounced]) == (False, True)
    assert await ledger.woken()


async def test_dry_run_text_says_would_and_warns_of_suppressed_addresses(ledger: Ledger) -> None:
    supplier = unique("supplier")
    await ledger.add(tender=unique("tender"), supplier=supplier, address="gone@example.org")
    await ledger.conn.execute(
        "INSERT INTO suppressions (channel, address, reason) VALUES"
        " ('email', 'gone@example.org', 'unsubscribed')"
    )

    code, out, err = await ledger.tw("--supplier", supplier, "--dry-run")

    assert code == 0, err
    assert "would requeue 1 of 1 matching failed delivery" in out
    assert "1 of them go to suppressed addresses" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "name a tender, a supplier, or a time range"),
        (("--channel", "sms"), "name a tender, a supplier, or a time range"),
        (("--since", "yesterday"), "not an ISO 8601 date"),
        (("--tender", "x", "--until", "2026-02-30"), "not an ISO 8601 date"),
        (("--since", "2026-12-02", "--until", "2026-12-01"), "is not before until"),
        (("--tender", "x", "--channel", "fax"), "'fax' is not one of"),
    ],
)
async def test_usage_errors_exit_2_and_change_nothing(
    ledger: Ledger, args: tuple[str, ...], says: str
) -> None:
    failed = await ledger.add(tender="x", supplier=unique("supplier"), failed_at=NOW)

    code, out, err = await ledger.tw(*args)

    assert code == 2, (out, err)
    assert says in " ".join(err.split())  # rich may wrap the message in a box
    assert "Traceback" not in err
    assert (await ledger.states(failed))[failed] == "failed"
    assert not await ledger.woken()


async def test_an_unreachable_database_exits_8_without_a_traceback_or_a_password() -> None:
    unreachable = f"postgresql://tw:s3cret@127.0.0.1:{free_port()}/notify"
    code, out, err = await run_tw(
        "deliveries",
        "requeue",
        "--tender",
        "x",
        "--json",
        env={"TW_NOTIFY_DATABASE_URL": unreachable, "TW_CONSOLE_NOTIFY_DATABASE_URL": unreachable},
    )

    assert (code, out) == (8, "")
    assert "cannot reach notify's database" in err
    assert "s3cret" not in err
    assert "Traceback" not in err


async def test_a_read_only_database_refuses_the_write_with_exit_1_but_answers_a_dry_run(
    ledger: Ledger,
) -> None:
    tender = unique("tender")
    failed = await ledger.add(tender=tender, supplier=unique("supplier"))
    database = ledger.dsn.rsplit("/", 1)[1]
    await ledger.conn.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')

    code, out, err = await ledger.tw("--tender", tender)
    dry_code, dry = await ledger.tw_json("--tender", tender, "--dry-run")

    assert code == 1, out
    assert "refused the write" in err
    assert "Traceback" not in err
    assert (dry_code, [d["id"] for d in dry["requeued"]]) == (0, [failed])
    assert (await ledger.states(failed))[failed] == "failed"


# --- the console -----------------------------------------------------------------------------

HOSTILE_TENDER = "<script>alert('t')</script>; rm -rf ~"
HOSTILE_SUPPLIER = '"><img src=x onerror=alert(1)> $(touch /tmp/pwned)'
COMMAND = re.compile(r'<pre class="command">(.*?)</pre>', re.DOTALL)


@pytest_asyncio.fixture
async def console(ledger: Ledger) -> AsyncIterator[BackgroundServer]:
    # Only notify's database is read by the failures page; Kafka is never asked.
    settings = ConsoleSettings(
        notices_database_url=ledger.dsn,
        matching_database_url=ledger.dsn,
        notify_database_url=ledger.dsn,
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
        operator_token=OPERATOR_TOKEN,
    )
    server = BackgroundServer(create_app(settings), port=free_port())
    await server.start()
    yield server
    await server.stop()


async def test_the_failures_page_shows_a_safely_quoted_requeue_line_that_works_when_pasted(
    ledger: Ledger, console: BackgroundServer
) -> None:
    await ledger.add(tender=HOSTILE_TENDER, supplier=HOSTILE_SUPPLIER, revision=1)
    await ledger.add(tender=HOSTILE_TENDER, supplier=HOSTILE_SUPPLIER, revision=2)
    plain_tender, plain_supplier = unique("tender"), unique("supplier")
    await ledger.add(tender=plain_tender, supplier=plain_supplier, channel="sms")
    await ledger.add(tender=unique("digest"), supplier=unique("s"), digest_id="digest-1")
    await ledger.add(tender=unique("bounced"), supplier=unique("s"), address="b@example.org")
    await ledger.conn.execute(
        "INSERT INTO suppressions (channel, address, reason) VALUES"
        " ('email', 'b@example.org', 'hard bounce')"
    )
    await ledger.add(
        tender=unique("retrying"), supplier=unique("s"), state="queued", last_error="SMTP 451"
    )

    async with httpx.AsyncClient(timeout=30.0) as http:
        response = await http.get(f"{console.url}/deliveries/failed", headers=OPERATOR_HEADERS)

    assert response.status_code == 200
    body = response.text
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    lines = [shlex.split(html.unescape(m)) for m in COMMAND.findall(body)]
    # Only failed alerts that a requeue would send: not digest entries, not bounced-only
    # groups, not those still being retried. The same group's two revisions share one line.
    assert sorted(lines) == sorted(
        [
            [
                "tw",
                "deliveries",
                "requeue",
                "--tender",
                HOSTILE_TENDER,
                "--supplier",
                HOSTILE_SUPPLIER,
            ],
            ["tw", "deliveries", "requeue", "--tender", plain_tender, "--supplier", plain_supplier],
        ]
    )
    assert "<form" not in body.split("</header>")[1]  # read-only: nothing to submit

    hostile_line = next(line for line in lines if HOSTILE_TENDER in line)
    code, out, err = await run_tw(*hostile_line[1:], "--json", env=ledger.env())
    assert code == 0, err
    assert [d["revision"] for d in json.loads(out)["requeued"]] == [1, 2]
