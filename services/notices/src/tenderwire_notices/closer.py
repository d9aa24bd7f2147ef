"""Closes notices whose deadline has passed, on the injected clock."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import structlog

from tenderwire_notices import lifecycle
from tenderwire_shared.periodic import Periodic

log = structlog.get_logger()


class DeadlineCloser:
    def __init__(
        self,
        pool: asyncpg.Pool,
        context: Callable[[], lifecycle.Context],
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
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                closed = await lifecycle.close_due(conn, self._context())
            for tender in closed:
                log.info("tender_closed", tender_id=tender.tender_id, revision=tender.revision)
            total += len(closed)
            if not closed:
                return total
