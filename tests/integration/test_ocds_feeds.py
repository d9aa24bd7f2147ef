"""OCDS feeds pulled on a schedule, over a real HTTP server serving fixture pages, real
PostgreSQL and Kafka: the poller follows `links.next` through three pages, waits out a 500 and
a timeout on one of them with a growing backoff, resumes after a restart without fetching or
importing again what it did, and one poller at a time pulls a feed. `tw ocds` too.

The poller runs on a clock of its own, years ahead of the platform's: the platform's notices
service runs its own poller on the same database, and a feed due only on the test's clock is
one it never pulls, so every pull here is the test's. The pure rules: services/notices/tests/
test_feeds.py.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response

from tenderwire_console.bootstrap import create_app as console_app
from tenderwire_console.settings import ConsoleSettings
from tenderwire_notices import repository, services
from tenderwire_notices.bootstrap import MIGRATIONS, create_app
from tenderwire_notices.feeds import FeedLimits, PollResult, poll_feed
from tenderwire_notices.ocds import services as ocds_services
from tenderwire_notices.settings import NoticesSettings
from tenderwire_notices.workers import FeedPoller
from tenderwire_shared import topics
from tenderwire_shared.clock import Clock, ManualClock, SystemClock
from tenderwire_shared.db import create_pool, migrate
from tenderwire_shared.settings import Environment
from tenderwire_stack.http_server import BackgroundServer
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port
from tests.support.kafka_reader import read_until
from tests.support.platform import OPERATOR_HEADERS, OPERATOR_TOKEN, Platform, create_database
from tests.support.tw_cli import run_tw

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ocds"
TENDER = FIXTURES / "fictional-1.1" / "ocds-213czf-000-00001-02-tender.json"
PAGES = 3
PER_PAGE = 2
LIMITS = FeedLimits(timeout_s=0.5, backoff_base_s=60, backoff_max_s=3600, refresh_s=3600)
YEARS_AHEAD = timedelta(days=3650)


class FeedServer:
    """Three release packages chained by `links.next`; `trouble` says what the next requests
    for a page get instead (a 500, or no answer until the test ends: `slow`)."""

    def __init__(self, clock: ManualClock, prefix: str) -> None:
        self.requests: list[int] = []
        self.trouble: dict[int, list[str]] = {}
        self.released = asyncio.Event()
        self.clock = clock  # the poller's
        self.dates: Clock = clock  # the releases' dates and deadlines
        self._prefix = prefix
        app = FastAPI()
        app.add_api_route("/feed", self._page, methods=["GET"])
        self.server = BackgroundServer(app, port=free_port())

    def url(self, page: int) -> str:
        return f"{self.server.url}/feed?page={page}"

    def ocid(self, page: int, n: int) -> str:
        return f"ocds-213czf-{self._prefix}-{page}{n}"

    def package(self, page: int) -> dict[str, Any]:
        package: dict[str, Any] = json.loads(TENDER.read_text(encoding="utf-8"))
        template = package["releases"][0]
        deadline = (self.dates.now() + timedelta(days=60)).isoformat()
        releases = []
        for n in range(PER_PAGE):
            release = copy.deepcopy(template)
            release["ocid"] = self.ocid(page, n)
            release["id"] = f"{release['ocid']}-tender"
            release["date"] = self.dates.now().isoformat()
            release["tender"]["id"] = f"{release['ocid']}-tender"
            release["tender"]["title"] = f"Feed page {page}, tender {n}"
            release["tender"]["tenderPeriod"] = {"endDate": deadline}
            releases.append(release)
        package["releases"] = releases
        if page < PAGES:
            # Relative, as many portals write it: resolved against the page's URL.
            package["links"] = {"next": f"/feed?page={page + 1}"}
        return package

    async def _page(self, request: Request) -> Response:
        page = int(request.query_params["page"])
        self.requests.append(page)
        trouble = self.trouble.get(page, [])
        if trouble:
            what = trouble.pop(0)
            if what == "500":
                return Response("upstream exploded", status_code=500)
            await self.released.wait()  # slow: longer than the poller waits
        return Response(json.dumps(self.package(page)), media_type="application/json")


@pytest_asyncio.fixture
async def feed_server(platform: Platform) -> AsyncIterator[FeedServer]:
    clock = ManualClock(YEARS_AHEAD)
    server = FeedServer(clock, platform.topic_prefix.strip(".") + clock.now().strftime("%H%M%S%f"))
    await server.server.start()
    yield server
    server.released.set()
    await server.server.stop()


@pytest_asyncio.fixture(scope="module")
async def console(platform: Platform) -> AsyncIterator[BackgroundServer]:
    settings = ConsoleSettings(
        notices_database_url=platform.dsns["notices"],
        matching_database_url=platform.dsns["matching"],
        notify_database_url=platform.dsns["notify"],
        kafka_bootstrap_servers=platform.kafka,
        topic_prefix=platform.topic_prefix,
        operator_token=OPERATOR_TOKEN,
    )
    server = BackgroundServer(console_app(settings), port=free_port())
    await server.start()
    yield server
    await server.stop()


async def console_page(console: BackgroundServer, path: str) -> str:
    async with httpx.AsyncClient(headers=OPERATOR_HEADERS, timeout=30) as client:
        response = await client.get(f"{console.url}{path}")
    assert response.status_code == 200, response.text
    return response.text


def feed_table_row(html: str, agency: str) -> str:
    """The OCDS feeds table's row of `agency`."""
    (row,) = [r for r in html.split("<tr") if f"<td>{agency}</td>" in r]
    return row


async def pulled(poller: FeedPoller, agency: str) -> PollResult:
    """What one round of the poller did with `agency`'s feed (other tests' feeds aside)."""
    (result,) = [r for r in await poller.poll_due() if r.agency == agency]
    return result


async def tender_events_left_once(platform: Platform, notice_ids: set[str]) -> None:
    """Each of these notices' tender.published is on the platform's tenders topic, once."""
    topic = NoticesSettings(topic_prefix=platform.topic_prefix).topic(topics.TENDERS)
    seen = await read_until(
        platform.kafka,
        topic,
        lambda found: {s.key.decode() for s in found if s.key} >= notice_ids,
        keep=lambda s: s.key is not None and s.key.decode() in notice_ids,
    )
    assert Counter(s.key for s in seen if s.key) == {i.encode(): 1 for i in notice_ids}


async def console_shows_the_failure(
    console: BackgroundServer, row: asyncpg.Record, resume_url: str, error: str
) -> None:
    shown = feed_table_row(await console_page(console, "/ocds-feeds"), row["agency"])
    assert 'class="bad"' in shown
    assert f"<td>{resume_url}</td>" in shown
    assert error in shown
    assert f"<td>{row['releases']} ({row['releases_imported']})</td>" in shown
    assert row["next_try_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") in shown
    assert "failing of" in await console_page(console, "/")


def context_on(platform: Platform, clock: ManualClock) -> services.Context:
    settings = NoticesSettings(topic_prefix=platform.topic_prefix)
    return services.Context(
        tenders_topic=settings.topic(topics.TENDERS),
        public_base_url=settings.public_base_url,
        clock=clock,
    )


async def feed_row(pool: asyncpg.Pool, agency: str) -> asyncpg.Record:
    row = await repository.feed(pool, agency)
    assert row is not None
    return row


async def imports_of(pool: asyncpg.Pool, agency: str) -> tuple[int, int]:
    """The agency's notices and its import ledger's rows."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM notices WHERE agency = $1),"
        " (SELECT count(*) FROM ocds_imports WHERE agency = $1)",
        agency,
    )
    assert row is not None
    return row[0], row[1]


async def test_a_paginated_feed_survives_a_500_and_a_timeout_and_resumes_after_a_restart(
    platform: Platform, feed_server: FeedServer, console: BackgroundServer
) -> None:
    agency, _ = await platform.new_agency()
    clock = feed_server.clock
    feed_server.trouble[2] = ["500", "slow"]
    pool = await create_pool(platform.dsns["notices"], max_size=3)
    await repository.set_feed(pool, agency, feed_server.url(1), clock.now())
    poller = FeedPoller(pool, lambda: context_on(platform, clock), LIMITS, interval_s=3600)

    # Page 1 imports; page 2 answers 500: the poller stays on it and backs off.
    first = await pulled(poller, agency)
    assert (first.pages, first.releases, first.imported) == (1, PER_PAGE, PER_PAGE)
    assert first.error == f"{feed_server.url(2)}: HTTP 500"
    row = await feed_row(pool, agency)
    assert row["resume_url"] == feed_server.url(2)
    assert (row["failures"], row["pages"], row["releases_imported"]) == (1, 1, PER_PAGE)
    assert row["next_try_at"] == row["last_fetch_at"] + timedelta(seconds=60)
    # Not due before the backoff has passed.
    assert agency not in [r.agency for r in await poller.poll_due()]

    # Page 2 then takes longer than the timeout: a second failure, twice the wait.
    clock.advance(timedelta(seconds=61))
    second = await pulled(poller, agency)
    assert second.pages == 0
    assert second.error == f"{feed_server.url(2)}: no complete answer within 0.5 s"
    row = await feed_row(pool, agency)
    assert (row["failures"], row["resume_url"]) == (2, feed_server.url(2))
    assert row["next_try_at"] == row["last_fetch_at"] + timedelta(seconds=120)
    # The console says so: the failing feed, where it resumes, its last error and next try.
    await console_shows_the_failure(console, row, feed_server.url(2), "no complete answer")

    # Then pages 2 and 3: the end of the feed, fetched again after the refresh interval.
    clock.advance(timedelta(seconds=121))
    third = await pulled(poller, agency)
    assert (third.pages, third.imported, third.error) == (2, 2 * PER_PAGE, None)
    row = await feed_row(pool, agency)
    assert row["resume_url"] == feed_server.url(3)
    assert (row["failures"], row["last_error"], row["pages"]) == (0, None, PAGES)
    assert row["releases"] == row["releases_imported"] == PAGES * PER_PAGE
    assert row["next_try_at"] == row["last_success_at"] + timedelta(seconds=3600)
    assert await imports_of(pool, agency) == (PAGES * PER_PAGE, PAGES * PER_PAGE)
    shown = feed_table_row(await console_page(console, "/ocds-feeds"), agency)
    assert 'class="bad"' not in shown
    assert f"<td>{PAGES * PER_PAGE} ({PAGES * PER_PAGE})</td>" in shown
    await poller.stop()
    await pool.close()

    # A restart (a new pool, a new poller) resumes at the last page: pages 1 and 2 are not
    # fetched again, and page 3's releases are already imported.
    clock.advance(timedelta(seconds=3601))
    pool = await create_pool(platform.dsns["notices"], max_size=3)
    restarted = FeedPoller(pool, lambda: context_on(platform, clock), LIMITS, interval_s=3600)
    try:
        fourth = await pulled(restarted, agency)
        assert (fourth.pages, fourth.releases, fourth.imported) == (1, PER_PAGE, 0)
        assert Counter(feed_server.requests) == {1: 1, 2: 3, 3: 2}
        assert await imports_of(pool, agency) == (PAGES * PER_PAGE, PAGES * PER_PAGE)
        notice_ids = {
            r["id"] for r in await pool.fetch("SELECT id FROM notices WHERE agency = $1", agency)
        }
    finally:
        await restarted.stop()
        await pool.close()

    # Each imported tender left once, through the outbox, on the platform's tenders topic.
    await tender_events_left_once(platform, notice_ids)


async def test_one_poller_at_a_time_pulls_a_feed(
    platform: Platform, feed_server: FeedServer
) -> None:
    agency, _ = await platform.new_agency()
    clock = feed_server.clock
    pool = await create_pool(platform.dsns["notices"], max_size=3)
    try:
        await repository.set_feed(pool, agency, feed_server.url(3), clock.now())
        ctx = context_on(platform, clock)
        async with httpx.AsyncClient() as client:
            # Another replica holds the feed: this one leaves it alone.
            async with pool.acquire() as other:
                assert await repository.try_lock_feed(other, agency)
                assert await poll_feed(pool, ctx, client, agency, LIMITS) is None
                await repository.unlock_feed(other, agency)
            assert feed_server.requests == []
            pulled = await poll_feed(pool, ctx, client, agency, LIMITS)
            assert pulled is not None
            assert pulled.imported == PER_PAGE
            # Pulled just now, so not due: a replica that saw it due a moment ago skips it.
            assert await poll_feed(pool, ctx, client, agency, LIMITS) is None
        assert feed_server.requests == [3]
    finally:
        await pool.close()


async def test_a_page_the_import_chokes_on_backs_off_like_a_failed_fetch(
    platform: Platform, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    agency, _ = await platform.new_agency()
    clock = feed_server.clock
    pool = await create_pool(platform.dsns["notices"], max_size=3)

    async def choke(*_: object) -> None:
        raise RuntimeError("the import choked")

    monkeypatch.setattr(ocds_services, "import_releases", choke)
    try:
        await repository.set_feed(pool, agency, feed_server.url(3), clock.now())
        poller = FeedPoller(pool, lambda: context_on(platform, clock), LIMITS, interval_s=3600)
        result = await pulled(poller, agency)
        assert result.error == f"{feed_server.url(3)}: RuntimeError('the import choked')"
        row = await feed_row(pool, agency)
        assert (row["failures"], row["pages"], row["resume_url"]) == (1, 0, None)
        assert row["next_try_at"] == row["last_fetch_at"] + timedelta(seconds=60)
        await poller.stop()
    finally:
        await pool.close()


async def test_the_notices_service_starts_the_poller_and_it_reads_the_feed_to_its_end(
    platform: Platform, feed_server: FeedServer
) -> None:
    """The poller as deployed: started by the notices app (bootstrap), on its own database and
    topics here, so its rounds do not meet the platform's."""
    feed_server.dates = SystemClock()
    dsn = await create_database(platform.admin_dsn, "notices_feeds")
    pool = await create_pool(dsn, max_size=2)
    try:
        await migrate(pool, MIGRATIONS)
        await services.create_agency(pool, "FEEDS", "Feeds agency")
        await repository.set_feed(pool, "FEEDS", feed_server.url(1), SystemClock().now())
        settings = NoticesSettings(
            environment=Environment.TEST,
            database_url=dsn,
            kafka_bootstrap_servers=platform.kafka,
            topic_prefix=f"{platform.topic_prefix}feeds.",
            feed_poll_interval_s=0.2,
        )
        app = BackgroundServer(create_app(settings), port=free_port())
        await app.start()
        try:
            row = await eventually(
                lambda: feed_row(pool, "FEEDS"), until=lambda r: r["pages"] == PAGES
            )
        finally:
            await app.stop()
        assert (row["resume_url"], row["releases_imported"]) == (
            feed_server.url(3),
            PAGES * PER_PAGE,
        )
        assert await imports_of(pool, "FEEDS") == (PAGES * PER_PAGE, PAGES * PER_PAGE)
    finally:
        await pool.close()


async def test_tw_ocds_imports_once_and_sets_a_feed(
    platform: Platform, feed_server: FeedServer, tmp_path: Path
) -> None:
    agency, _ = await platform.new_agency()
    env = platform.operator_env()
    feed_server.dates = SystemClock()  # what `tw` imports is dated on the system's clock
    page = tmp_path / "page.json"
    page.write_text(json.dumps(feed_server.package(1)), encoding="utf-8")

    code, out, err = await run_tw(
        "ocds", "import", "--agency", agency, str(page), "--json", env=env
    )
    assert code == 0, out + err
    report = json.loads(out)
    assert report["counts"]["imported"] == PER_PAGE
    # From a URL, the same releases: already imported, nothing changed.
    code, out, err = await run_tw(
        "ocds", "import", "--agency", agency, feed_server.url(1), "--json", env=env
    )
    assert code == 0, err
    assert json.loads(out)["counts"] == {
        "imported": 0,
        "skipped": 0,
        "already_imported": PER_PAGE,
        "failed": 0,
    }
    code, out, err = await run_tw("ocds", "import", "--agency", agency, str(page), env=env)
    assert code == 0, err
    assert f"0 imported, 0 skipped, {PER_PAGE} already imported, 0 failed" in out

    # A release that fails (no id) makes it a report that needs attention.
    broken = feed_server.package(2)
    del broken["releases"][0]["id"]
    page.write_text(json.dumps(broken), encoding="utf-8")
    code, out, _ = await run_tw("ocds", "import", "--agency", agency, str(page), "--json", env=env)
    assert code == 3
    assert json.loads(out)["counts"]["failed"] == 1

    # Refusals: no OCDS, an unknown agency, a page that answers 500.
    page.write_text("<html></html>", encoding="utf-8")
    code, _, err = await run_tw("ocds", "import", "--agency", agency, str(page), env=env)
    assert (code, "not JSON" in err) == (1, True)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(feed_server.package(3)), encoding="utf-8")
    code, _, err = await run_tw("ocds", "import", "--agency", "NOBODY", str(good), env=env)
    assert (code, "no agency 'NOBODY'" in err) == (1, True)
    feed_server.trouble[3] = ["500"]
    code, _, err = await run_tw("ocds", "import", "--agency", agency, feed_server.url(3), env=env)
    assert (code, "HTTP 500" in err) == (1, True)

    # The feed commands. Setting the feed here makes it due on the platform's own clock, so
    # the platform's poller may pull it at any time; only what does not depend on that is read.
    code, out, err = await run_tw("ocds", "feed", "set", agency, "ftp://nowhere/", env=env)
    assert code == 2
    code, out, err = await run_tw("ocds", "feed", "set", agency, feed_server.url(1), env=env)
    assert code == 0, err
    code, out, err = await run_tw("ocds", "feed", "status", "--json", env=env)
    assert code == 0, err
    (mine,) = [f for f in json.loads(out) if f["agency"] == agency]
    assert mine["url"] == feed_server.url(1)
    code, out, err = await run_tw("ocds", "feed", "status", env=env)
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if agency in x]
    assert "/feed?page=" in line
    assert (await run_tw("ocds", "feed", "set", "NOBODY", feed_server.url(1), env=env))[0] == 1
    code, out, err = await run_tw("ocds", "feed", "remove", agency, "--json", env=env)
    assert (code, json.loads(out)) == (0, {"agency": agency, "removed": True})
    assert (await run_tw("ocds", "feed", "remove", agency, env=env))[0] == 1
