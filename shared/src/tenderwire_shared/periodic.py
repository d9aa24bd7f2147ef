"""A background job that runs every few seconds until stopped, logging (not dying of) errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger()


class Periodic:
    def __init__(self, name: str, job: Callable[[], Awaitable[object]], interval_s: float) -> None:
        self._name = name
        self._job = job
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self._job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("periodic_job_failed", job=self._name, error=repr(exc))
            await asyncio.sleep(self._interval)
