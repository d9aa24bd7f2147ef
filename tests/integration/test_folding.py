"""Folding in the delivery ledger, on a real PostgreSQL: alerts about one tender to one
supplier on one channel that wait unsent are folded into the newest revision, whether the
revisions come in one consumer batch or several; a row a worker holds is never folded, and the
newer one waits for it. Also the claim's suppression check, the requeue of a dead worker's
rows and the retry horizon, which all act on the same rows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from pydantic import AnyHttpUrl

from tenderwire_notify import domain, repository
from tenderwire_notify.handlers import MatchHandler
from tenderwire_notify.repository import Folded, Result
from tenderwire_shared.clock import ManualClock
from tenderwire_shared.db import create_pool, migrate
from tenderwire_shared.envelope import RawEnvelope, new_event_id
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import FieldChange, NoticeType, TenderSnapshot
from tests.support.platform import create_database

pytestmark = pytest.mark.integration

NOTHING_TO_SEND = "nothing to send: the supplier was never told of the tender"


@pytest_asyncio.fixture
async def pool(postgres_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    # A database per test: the requeue and the horizon sweep act on every row in the ledger.
    created = await create_pool(await create_database(postgres_dsn, "notify_fold"), max_size=4)
    await migrate(created, "tenderwire_notify.migrations")
    yield created
    await created.close()


def change(name: str, before: object, after: object) -> FieldChange:
    return FieldChange(field=name, before=before, after=after)


@dataclass
class Story:
    """One supplier and one tender; builds the match events matching would send about it."""

    clock: ManualClock = field(default_factory=ManualClock)
    run: str = field(default_factory=lambda: new_event_id()[-10:])
    email: str | None = None
    phone: str | None = None

    @property
    def supplier_id(self) -> str:
        return f"fold-{self.run}"

    @property
    def tender_id(self) -> str:
        return f"tender-{self.run}"

    def key(self, channel: str = "email") -> tuple[str, str, str]:
        return (self.supplier_id, self.tender_id, channel)

    def alert(
        self,
        kind: MatchKind,
        revision: int,
        *changes: FieldChange,
        still_matches: bool = True,
    ) -> MatchCreated:
        now = datetime.now(UTC)
        tender = TenderSnapshot(
            tender_id=self.tender_id,
            revision=revision,
            agency="UNDP",
            reference=f"F-{self.run}",
            title=f"Water pumps (revision {revision})",
            description="",
            language="en",
            notice_type=NoticeType.INVITATION_TO_BID,
            unspsc_codes=("40141700",),
            beneficiary_countries=("SEN",),
            deadline=now + timedelta(days=20),
            deadline_utc_offset_minutes=0,
            published_at=now,
            url=AnyHttpUrl("https://example.org/t"),
        )
        return MatchCreated(
            match_id=new_event_id(),
            kind=kind,
            recipient=Recipient(
                supplier_id=self.supplier_id,
                legal_name="Fold Supplies",
                email=self.email or f"{self.supplier_id}@example.org",
                language="en",
                timezone="Africa/Dakar",
                phone=self.phone,
            ),
            tender=tender,
            matched_codes=("40141700",),
            changes=changes,
            reason=None if kind is MatchKind.NEW else "Corrigendum",
            still_matches=still_matches,
        )

    def new(self, revision: int = 1) -> MatchCreated:
        return self.alert(MatchKind.NEW, revision)

    def amended(
        self, revision: int, *changes: FieldChange, still_matches: bool = True
    ) -> MatchCreated:
        return self.alert(MatchKind.AMENDED, revision, *changes, still_matches=still_matches)

    def cancelled(self, revision: int) -> MatchCreated:
        return self.alert(MatchKind.CANCELLED, revision)

    async def arrive(self, pool: asyncpg.Pool, *alerts: MatchCreated) -> None:
        """One consumer batch, in one transaction, as notify's Kafka consumer applies it."""
        items = [(envelope(m), m) for m in alerts]
        async with pool.acquire() as conn, conn.transaction():
            await MatchHandler(self.clock).apply(conn, items)

    async def arrive_in(self, pool: asyncpg.Pool, batches: str, *alerts: MatchCreated) -> None:
        if batches == "one batch":
            await self.arrive(pool, *alerts)
        else:
            for alert in alerts:
                await self.arrive(pool, alert)

    async def ledger(self, pool: asyncpg.Pool, channel: str = "email") -> list[Row]:
        records = await pool.fetch(
            "SELECT id, revision, kind, state, superseded_by, last_error, match::text AS match,"
            " content_key, claimed_by, language, timezone FROM deliveries"
            " WHERE supplier_id = $1 AND tender_id = $2 AND channel = $3 ORDER BY revision",
            self.supplier_id,
            self.tender_id,
            channel,
        )
        return [Row(r) for r in records]

    async def claim(self, pool: asyncpg.Pool, worker: str = "worker-test") -> list[str]:
        async with pool.acquire() as conn, conn.transaction():
            claimed = await repository.claim_alerts(
                conn, worker=worker, now=self.clock.now(), channels=["email", "sms"], limit=50
            )
        return [r["id"] for r in claimed if r["supplier_id"] == self.supplier_id]


def envelope(match: MatchCreated) -> RawEnvelope:
    return RawEnvelope(
        id=new_event_id(),
        type=f"match.{match.kind.value}",
        source="tests",
        subject=match.recipient.supplier_id,
        correlationid=new_event_id(),
        data=match.model_dump(mode="json"),
    )


class Row:
    def __init__(self, record: asyncpg.Record) -> None:
        self.id: str = record["id"]
        self.revision: int = record["revision"]
        self.kind_column: str = record["kind"]
        self.state: str = record["state"]
        self.superseded_by: str | None = record["superseded_by"]
        self.last_error: str | None = record["last_error"]
        self.match = MatchCreated.model_validate_json(record["match"])
        self.content_key: str | None = record["content_key"]
        self.claimed_by: str | None = record["claimed_by"]
        self.language: str = record["language"]
        self.timezone: str = record["timezone"]

    @property
    def changes(self) -> list[dict[str, Any]]:
        return [json.loads(c.model_dump_json()) for c in self.match.changes]

    def key_of_its_words(self) -> str:
        return domain.content_key(self.match, language=self.language, timezone=self.timezone)


def key_of(match: MatchCreated) -> str:
    return domain.content_key(
        match, language=match.recipient.language, timezone=match.recipient.timezone
    )


def superseded_into(rows: Sequence[Row], kept: Row, revision: int) -> None:
    for row in rows:
        assert row.state == "superseded"
        assert row.superseded_by == kept.id
        assert row.last_error == f"folded into revision {revision}"


BATCHES = pytest.mark.parametrize("batches", ["one batch", "one batch each"])


# --- Each fold rule, through the ledger ----------------------------------------------------


async def test_a_lone_alert_waits_as_it_came(pool: asyncpg.Pool) -> None:
    story = Story()
    alert = story.amended(4, change("title", "a", "b"))

    await story.arrive(pool, alert)

    [row] = await story.ledger(pool)
    assert (row.state, row.superseded_by, row.last_error) == ("queued", None, None)
    assert row.match == alert
    assert row.content_key == key_of(alert)


@BATCHES
async def test_new_then_amended_waits_as_one_new_tender_alert_for_the_amended_tender(
    pool: asyncpg.Pool, batches: str
) -> None:
    story = Story()
    second = story.amended(2, change("deadline", "2027-03-20", "2027-03-27"))

    await story.arrive_in(pool, batches, story.new(1), second)

    first, kept = await story.ledger(pool)
    superseded_into([first], kept, 2)
    assert kept.state == "queued"
    assert (kept.match.kind, kept.match.changes, kept.match.still_matches) == (
        MatchKind.NEW,
        (),
        True,
    )
    assert kept.match.reason is None
    assert kept.match.tender == second.tender
    assert kept.content_key == kept.key_of_its_words()
    assert kept.content_key != key_of(second)


@BATCHES
async def test_new_then_more_amendments_folds_into_the_newest(
    pool: asyncpg.Pool, batches: str
) -> None:
    story = Story()

    await story.arrive_in(
        pool,
        batches,
        story.new(1),
        story.amended(2, change("title", "a", "b")),
        story.amended(3, change("title", "b", "c")),
    )

    rows = await story.ledger(pool)
    kept = rows[-1]
    assert [r.state for r in rows] == ["superseded", "superseded", "queued"]
    assert (kept.match.kind, kept.match.tender.revision) == (MatchKind.NEW, 3)
    # Folded at once, both point at revision 3; folded as they came, each at the next one.
    expected = [kept.id, kept.id] if batches == "one batch" else [rows[1].id, kept.id]
    assert [r.superseded_by for r in rows[:-1]] == expected


@BATCHES
@pytest.mark.parametrize("ending", ["cancelled", "amended out of the profile"])
async def test_a_new_tender_cancelled_or_no_longer_matching_before_it_left_sends_nothing(
    pool: asyncpg.Pool, batches: str, ending: str
) -> None:
    story = Story()
    last = (
        story.cancelled(2)
        if ending == "cancelled"
        else story.amended(
            2, change("unspsc_codes", ["40141700"], ["72101500"]), still_matches=False
        )
    )

    await story.arrive_in(pool, batches, story.new(1), last)

    first, second = await story.ledger(pool)
    superseded_into([first], second, 2)
    assert second.state == "superseded"
    assert second.superseded_by is None
    assert second.last_error is not None
    assert second.last_error.startswith(NOTHING_TO_SEND)
    assert await story.claim(pool) == []


@BATCHES
async def test_two_amendments_wait_as_one_with_each_field_from_first_before_to_last_after(
    pool: asyncpg.Pool, batches: str
) -> None:
    story = Story()
    second = story.amended(3, change("deadline", "03-27", "04-03"), change("budget", 10, 12))

    await story.arrive_in(
        pool,
        batches,
        story.amended(2, change("deadline", "03-20", "03-27"), change("title", "Pumps", "Pump")),
        second,
    )

    first, kept = await story.ledger(pool)
    superseded_into([first], kept, 3)
    assert kept.state == "queued"
    assert kept.match.kind is MatchKind.AMENDED
    assert kept.match.tender == second.tender
    assert kept.changes == [
        {"field": "deadline", "before": "03-20", "after": "04-03"},
        {"field": "title", "before": "Pumps", "after": "Pump"},
        {"field": "budget", "before": 10, "after": 12},
    ]
    assert kept.content_key == kept.key_of_its_words()
    assert kept.content_key != key_of(second)


@BATCHES
async def test_a_field_changed_and_changed_back_while_waiting_is_left_out(
    pool: asyncpg.Pool, batches: str
) -> None:
    story = Story()

    await story.arrive_in(
        pool,
        batches,
        story.amended(2, change("deadline", "03-20", "03-27"), change("title", "a", "b")),
        story.amended(3, change("deadline", "03-27", "03-20")),
    )

    _, kept = await story.ledger(pool)
    assert kept.changes == [{"field": "title", "before": "a", "after": "b"}]


@BATCHES
async def test_amendments_then_a_cancellation_wait_as_the_cancellation_alone(
    pool: asyncpg.Pool, batches: str
) -> None:
    story = Story()
    last = story.cancelled(4)

    await story.arrive_in(
        pool,
        batches,
        story.amended(2, change("title", "a", "b")),
        story.amended(3, change("title", "b", "c")),
        last,
    )

    rows = await story.ledger(pool)
    kept = rows[-1]
    assert [r.state for r in rows] == ["superseded", "superseded", "queued"]
    assert kept.match == last
    assert kept.content_key == key_of(last)


async def test_each_channel_folds_on_its_own(pool: asyncpg.Pool) -> None:
    story = Story(phone="+221770000001")

    await story.arrive(pool, story.new(1))
    [sms] = await story.ledger(pool, "sms")
    await pool.execute("UPDATE deliveries SET state = 'sent' WHERE id = $1", sms.id)
    await story.arrive(pool, story.amended(2, change("title", "a", "b")))

    email = await story.ledger(pool, "email")
    texts = await story.ledger(pool, "sms")
    assert [r.state for r in email] == ["superseded", "queued"]
    assert email[-1].match.kind is MatchKind.NEW
    assert [r.state for r in texts] == ["sent", "queued"]
    assert texts[-1].match.kind is MatchKind.AMENDED


# --- Revisions out of order ----------------------------------------------------------------


async def test_an_older_revision_arriving_after_a_newer_one_is_obsolete_on_arrival(
    pool: asyncpg.Pool,
) -> None:
    story = Story()
    newer = story.amended(3, change("title", "b", "c"))

    await story.arrive(pool, newer)
    await story.arrive(pool, story.amended(2, change("title", "a", "b")))

    older, kept = await story.ledger(pool)
    assert older.state == "superseded"
    assert older.last_error == "obsolete on arrival: revision 3 came first"
    assert (kept.state, kept.match) == ("queued", newer)


async def test_revisions_out_of_order_in_one_batch_fold_in_revision_order(
    pool: asyncpg.Pool,
) -> None:
    story = Story()
    newer = story.amended(2, change("title", "a", "b"))

    await story.arrive(pool, newer, story.new(1))

    first, kept = await story.ledger(pool)
    superseded_into([first], kept, 2)
    assert (kept.match.kind, kept.match.tender) == (MatchKind.NEW, newer.tender)


# --- Rows a worker holds -------------------------------------------------------------------


async def test_a_row_on_its_way_is_not_folded_and_the_newer_one_waits_until_it_is_sent(
    pool: asyncpg.Pool,
) -> None:
    story = Story()
    first_alert = story.new(1)
    await story.arrive(pool, first_alert)
    [first] = await story.ledger(pool)
    await pool.execute(
        "UPDATE deliveries SET state = 'sending', claimed_by = 'worker-a' WHERE id = $1", first.id
    )

    await story.arrive(
        pool,
        story.amended(2, change("title", "a", "b")),
        story.amended(3, change("title", "b", "c"), change("budget", 1, 2)),
    )

    on_its_way, second, third = await story.ledger(pool)
    assert (on_its_way.state, on_its_way.claimed_by) == ("sending", "worker-a")
    assert on_its_way.match == first_alert
    superseded_into([second], third, 3)
    # The new-tender alert is on its way, so the supplier hears of an amendment after it.
    assert third.match.kind is MatchKind.AMENDED
    assert third.changes == [
        {"field": "title", "before": "a", "after": "c"},
        {"field": "budget", "before": 1, "after": 2},
    ]
    assert await story.claim(pool) == []

    async with pool.acquire() as conn, conn.transaction():
        folded = await repository.record_results(
            conn, [Result(first.id, False, "sent", "email", key=story.key(), provider_ref="m-1")]
        )

    assert folded == []
    assert await story.claim(pool) == [third.id]
    assert [r.state for r in await story.ledger(pool)] == ["sent", "superseded", "sending"]


async def test_a_retry_of_the_row_on_its_way_folds_it_into_the_revision_waiting_behind_it(
    pool: asyncpg.Pool,
) -> None:
    story = Story()
    await story.arrive(pool, story.new(1))
    [first_id] = await story.claim(pool)
    second_alert = story.amended(2, change("title", "a", "b"))
    await story.arrive(pool, second_alert)

    async with pool.acquire() as conn, conn.transaction():
        folded = await repository.record_results(
            conn,
            [
                Result(
                    first_id,
                    False,
                    "retry",
                    "email",
                    key=story.key(),
                    error="451 4.3.0 try again later",
                    next_attempt_at=story.clock.now(),
                )
            ],
        )

    first, kept = await story.ledger(pool)
    assert folded == [Folded(kept.id, (first.id,), story.key())]
    superseded_into([first], kept, 2)
    assert (kept.match.kind, kept.match.tender) == (MatchKind.NEW, second_alert.tender)
    assert kept.content_key == kept.key_of_its_words()
    assert await story.claim(pool) == [kept.id]


# --- The claim, the requeue and the horizon ------------------------------------------------


async def test_a_claim_marks_an_alert_to_a_suppressed_address_suppressed(
    pool: asyncpg.Pool,
) -> None:
    address = f"Bounced-{new_event_id()[-8:]}@Example.org"
    story = Story(email=address)
    await pool.execute(
        "INSERT INTO suppressions (channel, address, reason) VALUES ('email', $1, 'hard bounce')",
        address.lower(),
    )
    await story.arrive(pool, story.new(1))

    async with pool.acquire() as conn, conn.transaction():
        claimed = await repository.claim_alerts(
            conn, worker="worker-a", now=story.clock.now(), channels=["email"], limit=10
        )

    assert [(r["state"], r["supplier_id"]) for r in claimed] == [("suppressed", story.supplier_id)]
    [row] = await story.ledger(pool)
    assert (row.state, row.claimed_by, row.last_error) == (
        "suppressed",
        None,
        "bounced or unsubscribed",
    )


async def test_a_dead_workers_rows_are_requeued_and_a_live_workers_are_left_alone(
    pool: asyncpg.Pool,
) -> None:
    holders = {"live": "worker-live", "dead": "worker-dead", "unknown": "worker-never-beat"}
    stories = {name: Story() for name in [*holders, "dead but just claimed"]}
    for story in stories.values():
        await story.arrive(pool, story.new(1))
    await repository.heartbeat(pool, "worker-live")
    await repository.heartbeat(pool, "worker-dead")
    await pool.execute(
        "UPDATE delivery_workers SET heartbeat_at = now() - interval '10 minutes'"
        " WHERE id = 'worker-dead'"
    )
    for name, story in stories.items():
        await pool.execute(
            "UPDATE deliveries SET state = 'sending', claimed_by = $2,"
            " updated_at = now() - $3::interval WHERE supplier_id = $1",
            story.supplier_id,
            holders.get(name, "worker-dead"),
            timedelta(seconds=5) if name == "dead but just claimed" else timedelta(minutes=10),
        )

    taken = await repository.requeue_abandoned(pool, worker="worker-sweeper", stale_s=60)

    states = {name: (await s.ledger(pool))[0] for name, s in stories.items()}
    assert taken == 2
    assert (states["dead"].state, states["dead"].claimed_by) == ("queued", None)
    assert (states["unknown"].state, states["unknown"].claimed_by) == ("queued", None)
    assert (states["live"].state, states["live"].claimed_by) == ("sending", "worker-live")
    assert states["dead but just claimed"].state == "sending"


async def test_a_worker_never_requeues_its_own_rows(pool: asyncpg.Pool) -> None:
    story = Story()
    await story.arrive(pool, story.new(1))
    await pool.execute(
        "UPDATE deliveries SET state = 'sending', claimed_by = 'worker-self',"
        " updated_at = now() - interval '1 hour' WHERE supplier_id = $1",
        story.supplier_id,
    )

    assert await repository.requeue_abandoned(pool, worker="worker-self", stale_s=60) == 0
    assert (await story.ledger(pool))[0].state == "sending"


async def test_only_waiting_rows_past_their_horizon_on_that_channel_fail(
    pool: asyncpg.Pool,
) -> None:
    horizon = timedelta(hours=1)
    cases = {
        "past": ("queued", "email", horizon + timedelta(minutes=1)),
        "exactly at": ("queued", "email", horizon),
        "within": ("queued", "email", horizon - timedelta(minutes=1)),
        "on its way": ("sending", "email", horizon * 2),
        "other channel": ("queued", "sms", horizon * 2),
    }
    stories = {name: Story(phone="+221770000002") for name in cases}
    now = datetime.now(UTC)
    for name, story in stories.items():
        state, channel, waited = cases[name]
        await story.arrive(pool, story.new(1))
        await pool.execute(
            "UPDATE deliveries SET state = $2, retry_since = $3, last_error = '451 try later'"
            " WHERE supplier_id = $1 AND channel = $4",
            story.supplier_id,
            state,
            now - waited,
            channel,
        )

    failed = await repository.give_up_past_horizon(
        pool, channel="email", now=now, horizon_s=horizon.total_seconds()
    )

    outcome = {name: (await s.ledger(pool, cases[name][1]))[0] for name, s in stories.items()}
    assert failed == 2
    assert outcome["past"].state == outcome["exactly at"].state == "failed"
    assert outcome["past"].last_error == (
        "gave up: not sent within 3600 s (last error: 451 try later)"
    )
    assert outcome["within"].state == "queued"
    assert outcome["on its way"].state == "sending"
    assert outcome["other channel"].state == "queued"


# --- After a fold to nothing --------------------------------------------------------------


@pytest.mark.parametrize("then", ["cancelled", "amended back into the profile"])
async def test_a_tender_the_supplier_never_heard_of_is_never_amended_or_cancelled_to_it(
    pool: asyncpg.Pool, then: str
) -> None:
    """Published overnight (the alert waits for the end of quiet hours), then amended out of
    the supplier's profile: nothing to send. Matching sends every later amendment and the
    cancellation to each supplier it alerted; one who never got the new-tender alert must get
    a new-tender alert for the tender as it then stands, or nothing if it was cancelled."""
    story = Story()
    out = story.amended(2, change("unspsc_codes", ["40141700"], ["72101500"]), still_matches=False)
    await story.arrive(pool, story.new(1), out)

    if then == "cancelled":
        await story.arrive(pool, story.cancelled(3))
        assert await story.claim(pool) == []
    else:
        await story.arrive(
            pool, story.amended(3, change("unspsc_codes", ["72101500"], ["40141700"]))
        )
        *_, last = await story.ledger(pool)
        assert last.match.kind is MatchKind.NEW
