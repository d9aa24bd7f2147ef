"""Background loops, on the injected clock: the deadline closer and the OCDS feed poller."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx
import structlog

from tenderwire_notices import feeds, repository, services
from tenderwire_shared.periodic import Periodic

log = structlog.get_logger()


class DeadlineCloser:
    """Every `interval_s`, closes the notices whose deadline has passed."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        context: Callable[[], services.Context],
        *,
        interval_s: float,
    ) -> None:
        self._pool = pool
        self._context = context
        self._loop = Periodic("deadline-closer", self.close_due, interval_s)

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def close_due(self) -> int:
        """Close everything due now, in batches; returns how many notices were closed."""
        total = 0
        while closed := await services.close_due(self._pool, self._context()):
            for tender in closed:
                log.info("tender_closed", tender_id=tender.tender_id, revision=tender.revision)
            total += len(closed)
        return total


class FeedPoller:
    """Every `interval_s`, pulls each agency's OCDS feed that is due (`feeds.poll_feed`): one
    agency at a time, and one poller per agency across replicas."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        context: Callable[[], services.Context],
        limits: feeds.FeedLimits,
        *,
        interval_s: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._pool = pool
        self._context = context
        self._limits = limits
        self._client = client or httpx.AsyncClient(
            timeout=limits.timeout_s, headers={"User-Agent": "Tenderwire OCDS feed poller"}
        )
        self._owns_client = client is None
        self._loop = Periodic("ocds-feed-poller", self.poll_due, interval_s)

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self._owns_client:
            await self._client.aclose()

    async def poll_due(self) -> list[feeds.PollResult]:
        """Pull every feed due now; returns what each pull did (none for a feed another
        poller holds)."""
        ctx = self._context()
        results: list[feeds.PollResult] = []
        for agency in await repository.due_feeds(self._pool, ctx.clock.now(), limit=100):
            try:
                result = await feeds.poll_feed(self._pool, ctx, self._client, agency, self._limits)
            except (OSError, asyncpg.PostgresError) as exc:
                # The database went away mid-page: nothing is recorded, the next round retries.
                log.warning("ocds_feed_poll_failed", agency=agency, error=repr(exc))
                continue
            if result is None:
                continue
            results.append(result)
            log.info(
                "ocds_feed_polled",
                agency=agency,
                pages=result.pages,
                releases=result.releases,
                imported=result.imported,
                failed_releases=result.failed_releases,
                error=result.error,
            )
        return results
