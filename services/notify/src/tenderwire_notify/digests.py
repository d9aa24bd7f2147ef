"""Daily digests: at each supplier's local hour, every batched alert leaves in one e-mail.

Crash safety: the digest row and the claim of its entries commit before the send, and the
entries become 'sent' only after the SMTP server accepted the message. A crash in between
leaves the digest 'sending' with its entries attached; the next flush sends that same digest
again, with the same Message-ID, so nothing is lost and no entry moves to another digest.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from tenderwire_notify import suppressions
from tenderwire_notify.channels import PermanentSendError, TransientSendError
from tenderwire_notify.email_messages import (
    SUPPLIER_PLACEHOLDER,
    EmailComposer,
    PreparedContent,
)
from tenderwire_notify.mailer import Mailer
from tenderwire_notify.rendering import render_digest
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.unsubscribe import Subscription, link_for
from tenderwire_shared.clock import Clock
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.events.matches import MatchCreated
from tenderwire_shared.periodic import Periodic

log = structlog.get_logger()

_FLUSH_LOCK = 0x7477_6467


def local_day_if_due(now: datetime, timezone_name: str, digest_hour: int) -> date | None:
    """The supplier's local date when its digest hour has come today, else None."""
    local = now.astimezone(ZoneInfo(timezone_name))
    return local.date() if local.hour >= digest_hour else None


class DigestSender:
    def __init__(
        self, pool: asyncpg.Pool, mailer: Mailer, settings: NotifySettings, clock: Clock
    ) -> None:
        self._pool = pool
        self._mailer = mailer
        self._settings = settings
        self._clock = clock
        self._composer = EmailComposer(settings)
        self._loop = Periodic("digest-sender", self.flush_due, settings.digest_interval_s)

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def flush_due(self) -> int:
        """Send every digest that is due now; returns how many were sent.

        One replica flushes at a time (a session advisory lock), so a digest left 'sending' by
        a crash is resumed by one sender, not by every replica at once.
        """
        async with self._pool.acquire() as lock_conn:
            if not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", _FLUSH_LOCK):
                return 0
            try:
                return await self._flush(self._clock.now())
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock($1)", _FLUSH_LOCK)

    async def _flush(self, now: datetime) -> int:
        sent = 0
        for interrupted in await self._pool.fetch("SELECT * FROM digests WHERE state = 'sending'"):
            sent += await self._send(interrupted)
        waiting = await self._pool.fetch(
            "SELECT DISTINCT ON (supplier_id) supplier_id, address, language, timezone,"
            " digest_hour FROM deliveries WHERE state = 'batched'"
            " ORDER BY supplier_id, created_at DESC"
        )
        for supplier in waiting:
            day = local_day_if_due(now, supplier["timezone"], supplier["digest_hour"])
            if day is None:
                continue
            claimed = await self._claim(supplier, day)
            if claimed is not None:
                sent += await self._send(claimed)
        return sent

    async def _claim(self, supplier: asyncpg.Record, day: date) -> asyncpg.Record | None:
        """Today's digest for this supplier with every batched alert attached, or None if
        today's digest has already gone (the alerts then wait for tomorrow's)."""
        async with self._pool.acquire() as conn, conn.transaction():
            digest = await conn.fetchrow(
                "INSERT INTO digests (id, supplier_id, local_date, address, language, timezone)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (supplier_id, local_date) DO NOTHING"
                " RETURNING *",
                new_event_id(),
                supplier["supplier_id"],
                day,
                supplier["address"],
                supplier["language"],
                supplier["timezone"],
            )
            if digest is None:
                return None
            await conn.execute(
                "UPDATE deliveries SET state = 'sending', digest_id = $1, updated_at = now()"
                " WHERE supplier_id = $2 AND state = 'batched'",
                digest["id"],
                supplier["supplier_id"],
            )
            return digest

    async def _send(self, digest: asyncpg.Record) -> int:
        rows = await self._pool.fetch(
            "SELECT match FROM deliveries WHERE digest_id = $1 ORDER BY created_at", digest["id"]
        )
        matches = [MatchCreated.model_validate_json(r["match"]) for r in rows]
        log_ = log.bind(digest_id=digest["id"], supplier_id=digest["supplier_id"])
        if not matches:
            await self._finish(digest["id"], "sent", None)
            return 0
        email = render_digest(
            matches, language=digest["language"], timezone_name=digest["timezone"],
            day=digest["local_date"], supplier=SUPPLIER_PLACEHOLDER,
        )  # fmt: skip
        link = link_for(
            self._settings,
            Subscription(
                supplier_id=digest["supplier_id"], channel="email", address=digest["address"]
            ),
        )
        data = self._composer.message(
            PreparedContent.from_rendered(email), to=digest["address"],
            message_id=f"<{digest['id']}@{self._settings.message_id_domain}>",
            date=self._clock.now(), unsubscribe_link=link,
            supplier=matches[0].recipient.legal_name,
        )  # fmt: skip
        try:
            async with suppressions.sending_to(self._pool, "email", digest["address"]) as ok:
                if not ok:
                    await self._finish(
                        digest["id"], "failed", "bounced or unsubscribed", entries="suppressed"
                    )
                    return 0
                await self._mailer.send(to=digest["address"], data=data)
        except TransientSendError as exc:
            attempts = await self._pool.fetchval(
                "UPDATE digests SET attempts = attempts + 1, last_error = $2 WHERE id = $1"
                " RETURNING attempts",
                digest["id"],
                str(exc),
            )
            if attempts >= self._settings.max_attempts:
                await self._finish(digest["id"], "failed", f"gave up: {exc}")
            log_.warning("digest_retry", error=str(exc), attempts=attempts)
            return 0
        except PermanentSendError as exc:
            await self._finish(digest["id"], "failed", str(exc))
            log_.warning("digest_failed", error=str(exc))
            return 0
        await self._finish(digest["id"], "sent", None)
        log_.info("digest_sent", entries=len(matches))
        return 1

    async def _finish(
        self, digest_id: str, state: str, error: str | None, *, entries: str | None = None
    ) -> None:
        entry_state = entries or state
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE digests SET state = $2, last_error = $3,"
                " sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1",
                digest_id,
                state,
                error,
            )
            await conn.execute(
                "UPDATE deliveries SET state = $2, last_error = $3, updated_at = now(),"
                " sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE digest_id = $1",
                digest_id,
                entry_state,
                error,
            )
