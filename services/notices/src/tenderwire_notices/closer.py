"""Closes notices whose deadline has passed, on the injected clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog

from tenderwire_notices import lifecycle

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
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="deadline-closer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

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

    async def _run(self) -> None:
        while True:
            try:
                await self.close_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("deadline_closer_failed", error=repr(exc))
            await asyncio.sleep(self._interval)
