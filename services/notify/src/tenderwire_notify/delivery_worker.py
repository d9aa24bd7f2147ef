"""Sends queued alerts from the ledger: claim, send, record; retries with backoff and jitter."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import asyncpg
import structlog

from tenderwire_notify import suppressions
from tenderwire_notify.channels import (
    Channel,
    Delivery,
    PermanentSendError,
    TransientSendError,
)
from tenderwire_notify.handlers import WAKE_CHANNEL
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.clock import Clock
from tenderwire_shared.events.matches import MatchCreated
from tenderwire_shared.metrics import NOTIFICATIONS

log = structlog.get_logger()


class DeliveryWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: list[Channel],
        settings: NotifySettings,
        clock: Clock,
        *,
        batch_size: int = 20,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._channels = {c.name: c for c in channels}
        self._settings = settings
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="delivery-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                async with self._pool.acquire() as listen_conn:
                    await listen_conn.add_listener(WAKE_CHANNEL, self._on_notify)
                    try:
                        await self._send_until_cancelled()
                    finally:
                        await listen_conn.remove_listener(WAKE_CHANNEL, self._on_notify)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("delivery_worker_failed", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _send_until_cancelled(self) -> None:
        while True:
            self._wake.clear()
            await self._requeue_stale()
            done = await self.send_due()
            if done < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)

    async def _requeue_stale(self) -> None:
        await self._pool.execute(
            "UPDATE deliveries SET state = 'queued', updated_at = now()"
            " WHERE state = 'sending' AND digest_id IS NULL"
            " AND updated_at < now() - make_interval(secs => $1)",
            self._settings.stale_sending_s,
        )

    async def send_due(self) -> int:
        """Claim and send up to one batch of due deliveries; returns how many were tried."""
        rows = await self._pool.fetch(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = now()"
            " WHERE id IN (SELECT id FROM deliveries WHERE state = 'queued'"
            "   AND next_attempt_at <= $2 ORDER BY next_attempt_at"
            "   LIMIT $1 FOR UPDATE SKIP LOCKED)"
            " RETURNING id, channel, address, language, timezone, match, attempts,"
            "   correlation_id, supplier_id, tender_id",
            self._batch_size,
            self._clock.now(),
        )
        await asyncio.gather(*(self._send_one(row) for row in rows))
        return len(rows)

    async def _send_one(self, row: asyncpg.Record) -> None:
        log_ = log.bind(
            notification_id=row["id"],
            supplier_id=row["supplier_id"],
            tender_id=row["tender_id"],
            correlation_id=row["correlation_id"],
            channel=row["channel"],
            attempt=row["attempts"],
        )
        channel = self._channels.get(row["channel"])
        if channel is None:
            await self._finish(row, "failed", f"no {row['channel']} channel configured")
            return
        delivery = Delivery(
            id=row["id"],
            supplier_id=row["supplier_id"],
            address=row["address"],
            language=row["language"],
            timezone=row["timezone"],
            match=MatchCreated.model_validate_json(row["match"]),
        )
        try:
            async with suppressions.sending_to(self._pool, row["channel"], row["address"]) as ok:
                if not ok:
                    await self._finish(row, "suppressed", "bounced or unsubscribed")
                    log_.info("notification_suppressed")
                    return
                started = time.perf_counter()
                reference = await channel.send(delivery)
                sent_in_ms = round((time.perf_counter() - started) * 1000, 2)
        except PermanentSendError as exc:
            await self._finish(row, "failed", str(exc))
            if exc.hard_bounce:
                await suppressions.add(self._pool, row["channel"], row["address"], str(exc))
            log_.warning(
                "notification_failed", error=str(exc), permanent=True, suppressed=exc.hard_bounce
            )
            return
        except TransientSendError as exc:
            await self._retry_or_give_up(row, str(exc), log_)
            return
        except Exception as exc:
            # A message we cannot even build (a template bug) will not build next time either.
            await self._finish(row, "failed", f"could not send: {exc!r}")
            log_.error("notification_failed", error=repr(exc), permanent=True)
            return
        # Only a queued-or-sending row becomes sent: a status callback may have got here first.
        await self._pool.execute(
            "UPDATE deliveries SET state = 'sent', sent_at = now(), updated_at = now(),"
            " last_error = NULL, provider_ref = $2 WHERE id = $1 AND state = 'sending'",
            row["id"],
            reference,
        )
        NOTIFICATIONS.labels(row["channel"], "sent").inc()
        log_.info("notification_sent", duration_ms=sent_in_ms)

    async def _retry_or_give_up(
        self, row: asyncpg.Record, error: str, log_: structlog.typing.FilteringBoundLogger
    ) -> None:
        if row["attempts"] >= self._settings.max_attempts:
            await self._finish(row, "failed", f"gave up: {error}")
            log_.warning("notification_failed", error=error, permanent=False)
            return
        delay = self._settings.retry_base_delay_s * 2 ** (row["attempts"] - 1)
        delay *= random.uniform(0.5, 1.5)
        await self._pool.execute(
            "UPDATE deliveries SET state = 'queued', last_error = $2, updated_at = now(),"
            " next_attempt_at = $3::timestamptz + make_interval(secs => $4) WHERE id = $1",
            row["id"],
            error,
            self._clock.now(),
            delay,
        )
        log_.info("notification_retry", error=error, retry_in_s=round(delay, 2))

    async def _finish(self, row: asyncpg.Record, state: str, error: str) -> None:
        await self._pool.execute(
            "UPDATE deliveries SET state = $2, last_error = $3, updated_at = now() WHERE id = $1",
            row["id"],
            state,
            error,
        )
        NOTIFICATIONS.labels(row["channel"], state).inc()
