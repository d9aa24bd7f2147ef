"""Background loops: the deadline closer, on the injected clock."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import structlog

from tenderwire_notices import services
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
