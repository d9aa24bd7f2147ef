"""Daily digests: at each supplier's local hour, every batched alert leaves in one e-mail.

This module only assembles digests. A digest row and the claim of its entries commit together,
as 'queued'; the delivery worker then sends it through the same lanes, circuit breaker,
backoff and horizon as every alert, with its own id as Message-ID. A crash mid-send leaves the
digest 'sending' with its entries attached; once the dead worker's heartbeat is stale the same
digest goes again, so nothing is lost and no entry moves to another digest.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from tenderwire_notify import repository
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.clock import Clock
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.periodic import Periodic

log = structlog.get_logger()

_ASSEMBLY_LOCK = 0x7477_6467


def local_day_if_due(now: datetime, timezone_name: str, digest_hour: int) -> date | None:
    """The supplier's local date when its digest hour has come today, else None."""
    local = now.astimezone(ZoneInfo(timezone_name))
    return local.date() if local.hour >= digest_hour else None


class DigestSender:
    def __init__(self, pool: asyncpg.Pool, settings: NotifySettings, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock
        self._loop = Periodic("digest-sender", self.flush_due, settings.digest_interval_s)

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def flush_due(self) -> int:
        """Assemble every digest that is due now; returns how many were queued.

        One replica assembles at a time (a session advisory lock), so two replicas never
        race to build the same supplier's digest.
        """
        async with self._pool.acquire() as lock_conn:
            if not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", _ASSEMBLY_LOCK):
                return 0
            try:
                return await self._assemble(self._clock.now())
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", _ASSEMBLY_LOCK)

    async def _assemble(self, now: datetime) -> int:
        waiting = await self._pool.fetch(
            "SELECT DISTINCT ON (supplier_id) supplier_id, address, language, timezone,"
            " digest_hour FROM deliveries WHERE state = 'batched'"
            " ORDER BY supplier_id, created_at DESC"
        )
        queued = 0
        for supplier in waiting:
            day = local_day_if_due(now, supplier["timezone"], supplier["digest_hour"])
            if day is not None and await self._claim(supplier, day, now):
                queued += 1
        return queued

    async def _claim(self, supplier: asyncpg.Record, day: date, now: datetime) -> bool:
        """Queue today's digest for this supplier with every batched alert attached; False if
        today's digest has already gone (the alerts then wait for tomorrow's)."""
        async with self._pool.acquire() as conn, conn.transaction():
            digest_id = await conn.fetchval(
                "INSERT INTO digests (id, supplier_id, local_date, address, language, timezone,"
                " state, next_attempt_at, retry_since) VALUES ($1, $2, $3, $4, $5, $6, 'queued',"
                " $7, $7) ON CONFLICT (supplier_id, local_date) DO NOTHING RETURNING id",
                new_event_id(),
                supplier["supplier_id"],
                day,
                supplier["address"],
                supplier["language"],
                supplier["timezone"],
                now,
            )
            if digest_id is None:
                return False
            entries = await conn.execute(
                "UPDATE deliveries SET state = 'sending', digest_id = $1, updated_at = now()"
                " WHERE supplier_id = $2 AND state = 'batched'",
                digest_id,
                supplier["supplier_id"],
            )
            await repository.wake(conn)
        log.info(
            "digest_queued",
            digest_id=digest_id,
            supplier_id=supplier["supplier_id"],
            entries=int(entries.split()[-1]),
        )
        return True
