"""Notify's background loops: the delivery worker, which sends what the ledger holds, and the
digest scheduler, which assembles each supplier's daily digest at its local hour.

The delivery worker is a pipeline: a claimer keeps each channel's lanes fed, the lanes send,
a recorder writes the results in batches.

- No database connection is held while a message is with a provider.
- One supplier's alerts about one tender on one channel leave in revision order: the claim
  never takes a row while an earlier one of the same sequence waits or is on its way.
- Transient failures wait with capped exponential backoff and jitter until the channel's
  horizon; a relay that keeps failing opens its channel's circuit, and waiting rows are then
  neither tried nor charged an attempt.
- Once a provider has accepted a message its result is kept in memory until the database
  takes it, however long that is, so an outage never causes a resend. Only the rows of a
  worker whose heartbeat has stopped (it died) are sent again, with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from datetime import datetime, timedelta

import asyncpg
import structlog
from pydantic import ValidationError

from tenderwire_notify import repository, services
from tenderwire_notify.channels import (
    Channel,
    DigestContent,
    Job,
    PermanentSendError,
    RelayUnavailableError,
    Sent,
    TransientSendError,
)
from tenderwire_notify.domain import (
    ACCOUNT_KINDS,
    ACCOUNT_MESSAGE_EXPIRED,
    ChannelName,
    DeliveryState,
    Outcome,
    Result,
    is_expired,
)
from tenderwire_notify.repository import WAKE_CHANNEL
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.clock import Clock
from tenderwire_shared.consumer import TRANSIENT_ERRORS
from tenderwire_shared.db import Connection, unit_of_work
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.events.accounts import AccountMessage
from tenderwire_shared.events.matches import MatchCreated
from tenderwire_shared.metrics import NOTIFICATIONS
from tenderwire_shared.periodic import Periodic

log = structlog.get_logger()

_MATCH_CACHE = 4096
_RESULT_BATCH = 500
_REFUSALS_BEFORE_DROP = 3
# The outcomes the notifications metric counts, by the state they leave the row in.
_COUNTED = {Outcome.SENT: DeliveryState.SENT, Outcome.FAILED: DeliveryState.FAILED}


class DeliveryWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: list[Channel],
        settings: NotifySettings,
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._channels = {c.name: c for c in channels}
        self._settings = settings
        self._batch_size = settings.claim_batch_size
        self.worker_id = f"worker-{new_event_id()}"
        self._queues: dict[str, asyncio.Queue[Job | None]] = {
            name: asyncio.Queue() for name in self._channels
        }
        self._results: asyncio.Queue[Result | None] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._matches: OrderedDict[str, MatchCreated] = OrderedDict()
        self._claimer: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._lanes: list[asyncio.Task[None]] = []
        self._paused: dict[str, bool] = dict.fromkeys(self._channels, False)
        self.last_progress = time.monotonic()

    async def start(self) -> None:
        self._recorder = asyncio.create_task(self._record_forever(), name="delivery-recorder")
        for name, channel in self._channels.items():
            for lane in range(channel.lanes):
                self._lanes.append(
                    asyncio.create_task(self._lane(channel), name=f"delivery-{name}-{lane}")
                )
        self._claimer = asyncio.create_task(self._claim_forever(), name="delivery-claimer")

    async def stop(self) -> None:
        """Stop claiming, hand back what was claimed but not started, let sends in flight
        finish, and write every result the database will take."""
        if self._claimer is not None:
            self._claimer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._claimer
        for name, queue in self._queues.items():
            while not queue.empty():
                job = queue.get_nowait()
                if job is not None:
                    self._results.put_nowait(self._released(job, name))
            for _ in range(self._channels[name].lanes):
                queue.put_nowait(None)
        if self._lanes:
            _, stuck = await asyncio.wait(self._lanes, timeout=self._settings.smtp_timeout_s + 5)
            for task in stuck:
                task.cancel()
        self._results.put_nowait(None)
        if self._recorder is not None:
            done, _ = await asyncio.wait([self._recorder], timeout=10)
            if not done:
                self._recorder.cancel()
                log.warning("delivery_results_unrecorded", waiting=self._results.qsize())
                with contextlib.suppress(asyncio.CancelledError):
                    await self._recorder

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    # --- Claiming --------------------------------------------------------------------------

    async def _claim_forever(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with self._pool.acquire() as listen_conn:
                    await listen_conn.add_listener(WAKE_CHANNEL, self._on_notify)
                    try:
                        await self._claim_until_cancelled()
                    finally:
                        with contextlib.suppress(Exception):
                            await listen_conn.remove_listener(WAKE_CHANNEL, self._on_notify)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("delivery_claimer_failed", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            else:
                backoff = 0.5

    async def _claim_until_cancelled(self) -> None:
        beat_every = min(5.0, self._settings.stale_sending_s / 3)
        next_beat = next_sweep = next_horizon = 0.0
        while True:
            self._wake.clear()
            mono = time.monotonic()
            if mono >= next_beat:
                # First after a reconnect, so a long outage never makes this worker look dead.
                await repository.heartbeat(self._pool, self.worker_id)
                next_beat = mono + beat_every
            if mono >= next_sweep:
                await repository.requeue_abandoned(
                    self._pool, worker=self.worker_id, stale_s=self._settings.stale_sending_s
                )
                next_sweep = mono + min(1.0, self._settings.stale_sending_s / 2)
            if mono >= next_horizon:
                await self._give_up_past_horizons()
                next_horizon = mono + 10.0
            claimed = await self.claim_due()
            if claimed < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)

    async def _give_up_past_horizons(self) -> None:
        now = self._clock.now()
        for name in self._channels:
            horizon = self._settings.retry_policy(name).horizon.total_seconds()
            failed = await repository.give_up_past_horizon(
                self._pool, channel=name, now=now, horizon_s=horizon
            )
            if failed:
                NOTIFICATIONS.labels(name, DeliveryState.FAILED).inc(failed)
                log.warning("notifications_expired", channel=name, count=failed)
        for channel in await repository.give_up_expired(self._pool, now=now):
            NOTIFICATIONS.labels(channel, DeliveryState.FAILED).inc()
            log.warning("account_message_expired", channel=channel)

    def _open_channels(self, now: datetime) -> list[str]:
        names = []
        for name, channel in self._channels.items():
            paused = channel.paused(now)
            if paused != self._paused[name]:
                self._paused[name] = paused
                log.warning("channel_paused" if paused else "channel_resumed", channel=name)
            # A channel whose lanes still have a batch to go waits before claiming more.
            if not paused and self._queues[name].qsize() < self._batch_size:
                names.append(name)
        return names

    async def claim_due(self) -> int:
        """Claim up to one batch of due work for the open channels; returns how many rows."""
        now = self._clock.now()
        channels = self._open_channels(now)
        if not channels:
            return 0
        async with unit_of_work(self._pool) as conn:
            rows = await repository.claim_alerts(
                conn, worker=self.worker_id, now=now, channels=channels, limit=self._batch_size
            )
            digests: list[asyncpg.Record] = []
            entries: dict[str, list[str]] = {}
            if ChannelName.EMAIL in channels:
                digests, entries = await repository.claim_digests(
                    conn, worker=self.worker_id, now=now, limit=max(1, self._batch_size // 4)
                )
            sending = [r for r in rows if r["state"] == DeliveryState.SENDING]
            alerts = [r for r in sending if r["kind"] not in ACCOUNT_KINDS]
            # In the claim's transaction: should this read fail, nothing stays claimed by a
            # worker that never queued it (and that requeue_abandoned would never free).
            unreadable = await self._load_matches(conn, alerts)
            accounts = await self._load_account_messages(
                conn, [r for r in sending if r["kind"] in ACCOUNT_KINDS]
            )
        if not rows and not digests:
            return 0
        self.last_progress = time.monotonic()
        for row in rows:
            if row["state"] == DeliveryState.SUPPRESSED:
                NOTIFICATIONS.labels(row["channel"], DeliveryState.SUPPRESSED).inc()
                _logger(row).info("notification_suppressed")
            elif row["state"] == DeliveryState.FAILED:
                NOTIFICATIONS.labels(row["channel"], DeliveryState.FAILED).inc()
                _logger(row).warning("account_message_expired")
        for row in sending:
            reason: str | None
            if row["kind"] in ACCOUNT_KINDS:
                account = accounts.get(row["id"])
                if isinstance(account, AccountMessage):
                    self._queues[row["channel"]].put_nowait(self._account_job(row, account))
                    continue
                reason = account or "the account message is missing"
            else:
                reason = unreadable.get(_key(row))
            if reason is None:
                self._queues[row["channel"]].put_nowait(self._alert_job(row))
                continue
            _logger(row).error("notification_failed", error=reason, permanent=True)
            self._results.put_nowait(
                Result(
                    row["id"],
                    False,
                    Outcome.FAILED,
                    row["channel"],
                    key=repository.key_of(row),
                    error=reason,
                )
            )
        for digest in digests:
            self._enqueue_digest(digest, entries[digest["id"]])
        return len(rows) + len(digests)

    async def _load_matches(self, conn: Connection, rows: list[asyncpg.Record]) -> dict[str, str]:
        """Cache the match of each row's content; returns why, for content that can't be read."""
        missing: dict[str, str] = {}
        for row in rows:
            key = _key(row)
            if key in self._matches:
                self._matches.move_to_end(key)
            else:
                missing.setdefault(key, row["id"])
        if not missing:
            return {}
        found = await repository.matches_for(conn, list(missing.values()))
        unreadable: dict[str, str] = {}
        for key, row_id in missing.items():
            try:
                self._matches[key] = MatchCreated.model_validate_json(found[row_id])
            except ValidationError as exc:
                unreadable[key] = f"could not read the match: {exc.error_count()} invalid fields"
        while len(self._matches) > _MATCH_CACHE:
            self._matches.popitem(last=False)
        return unreadable

    async def _load_account_messages(
        self, conn: Connection, rows: list[asyncpg.Record]
    ) -> dict[str, AccountMessage | str]:
        """Each account message claimed, by row id; or why it cannot be read."""
        found = await repository.matches_for(conn, [r["id"] for r in rows])
        messages: dict[str, AccountMessage | str] = {}
        for row_id, text in found.items():
            try:
                messages[row_id] = AccountMessage.model_validate_json(text)
            except ValidationError as exc:
                messages[row_id] = (
                    f"could not read the account message: {exc.error_count()} invalid fields"
                )
        return messages

    def _account_job(self, row: asyncpg.Record, account: AccountMessage) -> Job:
        return Job(
            id=row["id"],
            channel=row["channel"],
            supplier_id=row["supplier_id"],
            address=row["address"],
            language=row["language"],
            timezone=row["timezone"],
            recipient_name=row["recipient_name"] or account.legal_name,
            content_key=f"row:{row['id']}",
            attempt=row["attempts"],
            account=account,
            tender_id=row["tender_id"],
            correlation_id=row["correlation_id"],
            retry_since=row["retry_since"],
            expires_at=row["expires_at"],
        )

    def _alert_job(self, row: asyncpg.Record) -> Job:
        match = self._matches[_key(row)]
        return Job(
            id=row["id"],
            channel=row["channel"],
            supplier_id=row["supplier_id"],
            address=row["address"],
            language=row["language"],
            timezone=row["timezone"],
            recipient_name=row["recipient_name"] or match.recipient.legal_name,
            content_key=_key(row),
            attempt=row["attempts"],
            match=match,
            tender_id=row["tender_id"],
            correlation_id=row["correlation_id"],
            retry_since=row["retry_since"],
            also=tuple(row["also"] or ()),
            own_address_sent=bool(row["own_address_sent"]),
        )

    def _enqueue_digest(self, digest: asyncpg.Record, entries: list[str]) -> None:
        try:
            matches = tuple(MatchCreated.model_validate_json(m) for m in entries)
        except ValidationError as exc:
            reason = f"could not read a digest entry: {exc.error_count()} invalid fields"
            log.error("digest_failed", digest_id=digest["id"], error=reason, permanent=True)
            self._results.put_nowait(
                Result(digest["id"], True, Outcome.FAILED, ChannelName.EMAIL, error=reason)
            )
            return
        job = Job(
            id=digest["id"],
            channel=ChannelName.EMAIL,
            supplier_id=digest["supplier_id"],
            address=digest["address"],
            language=digest["language"],
            timezone=digest["timezone"],
            recipient_name=matches[0].recipient.legal_name if matches else "",
            content_key=f"digest:{digest['id']}",
            attempt=digest["attempts"],
            digest=DigestContent(day=digest["local_date"], entries=matches),
            retry_since=digest["retry_since"],
            also=tuple(digest["also"] or ()),
            own_address_sent=bool(digest["own_address_sent"]),
        )
        if not matches:
            self._results.put_nowait(Result(job.id, True, Outcome.SENT, ChannelName.EMAIL))
            return
        self._queues[ChannelName.EMAIL].put_nowait(job)

    # --- Sending ---------------------------------------------------------------------------

    async def _lane(self, channel: Channel) -> None:
        queue = self._queues[channel.name]
        while True:
            job = await queue.get()
            if job is None:
                return
            if queue.qsize() < self._batch_size // 2:
                self._wake.set()
            try:
                result = await self._send(channel, job)
            except Exception as exc:
                # A lane that died would leave its channel one lane short until a restart.
                log.error("delivery_lane_failed", error=repr(exc), notification_id=job.id)
                result = self._released(job, channel.name)
            self._results.put_nowait(result)

    async def _send(self, channel: Channel, job: Job) -> Result:
        now = self._clock.now()
        if channel.paused(now):
            return self._released(job, channel.name)
        log_ = _logger(job)
        if is_expired(job.expires_at, now):
            log_.warning("account_message_expired")
            return self._result(job, Outcome.FAILED, error=ACCOUNT_MESSAGE_EXPIRED)
        started = time.perf_counter()
        try:
            sent = await channel.send(job)
        except PermanentSendError as exc:
            log_.warning(
                "notification_failed", error=str(exc), permanent=True, suppressed=exc.hard_bounce
            )
            return self._result(
                job,
                Outcome.FAILED,
                error=str(exc),
                suppress=job.address if exc.hard_bounce else None,
            )
        except TransientSendError as exc:
            return self._retry(
                job, str(exc), relay=isinstance(exc, RelayUnavailableError), copies=exc.accepted
            )
        except Exception as exc:
            # A message we cannot even build (a template bug) will not build next time either.
            log_.error("notification_failed", error=repr(exc), permanent=True)
            return self._result(job, Outcome.FAILED, error=f"could not send: {exc!r}")
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        reference, copies, refused = (
            (sent.reference, sent.copies, sent.refused)
            if isinstance(sent, Sent)
            else (sent, (), ())
        )
        if job.digest is not None:
            log_.info("digest_sent", entries=len(job.digest.entries), duration_ms=elapsed_ms)
        else:
            log_.info("notification_sent", duration_ms=elapsed_ms)
        return self._result(
            job, Outcome.SENT, provider_ref=reference, copies=copies, suppress_copies=refused
        )

    def _retry(self, job: Job, error: str, *, relay: bool, copies: tuple[str, ...] = ()) -> Result:
        now = self._clock.now()
        policy = self._settings.retry_policy(job.channel)
        retry_since = job.retry_since or now
        if relay:
            # The relay's fault, not the message's: its circuit paces the retries.
            when = policy.relay_retry_at(now=now, retry_since=retry_since)
        else:
            when = policy.next_attempt(job.attempt, now=now, retry_since=retry_since)
        log_ = _logger(job)
        if when is None:
            log_.warning("notification_failed", error=error, permanent=False)
            return self._result(job, Outcome.FAILED, error=f"gave up: {error}", copies=copies)
        log_.info("notification_retry", error=error, relay=relay, retry_in_s=_seconds(when - now))
        return self._result(job, Outcome.RETRY, error=error, next_attempt_at=when, copies=copies)

    def _released(self, job: Job, channel: str) -> Result:
        """Claimed but not tried (the channel paused or the worker stops): no attempt used."""
        return Result(
            job.id,
            job.digest is not None,
            Outcome.RELEASED,
            channel,
            key=_sequence(job),
            next_attempt_at=self._clock.now(),
            refund_attempt=True,
        )

    def _result(
        self,
        job: Job,
        outcome: Outcome,
        *,
        error: str | None = None,
        provider_ref: str | None = None,
        next_attempt_at: datetime | None = None,
        suppress: str | None = None,
        copies: tuple[str, ...] = (),
        suppress_copies: tuple[str, ...] = (),
    ) -> Result:
        return Result(
            job.id,
            job.digest is not None,
            outcome,
            job.channel,
            key=_sequence(job),
            error=error,
            provider_ref=provider_ref,
            next_attempt_at=next_attempt_at,
            suppress_address=suppress,
            copies=copies,
            suppress_copies=suppress_copies,
            account=job.account is not None,
        )

    # --- Recording -------------------------------------------------------------------------

    async def _record_forever(self) -> None:
        stopping = False
        while not stopping:
            first = await self._results.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < _RESULT_BATCH and not self._results.empty():
                item = self._results.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._record(batch)

    async def _record(self, batch: list[Result]) -> None:
        backoff = 0.2
        refusals = 0
        while True:
            try:
                async with self._pool.acquire() as conn:
                    if services.only_sent_alerts(batch):
                        # One statement is atomic on its own: no BEGIN and COMMIT round trips.
                        folded = await services.record_results(conn, batch)
                    else:
                        async with conn.transaction():
                            folded = await services.record_results(conn, batch)
                break
            except asyncio.CancelledError:
                raise
            except TRANSIENT_ERRORS as exc:
                # These messages have been handed to providers (or not, for a retry): either
                # way the row must say so before anyone may claim it again. Keep trying, for
                # as long as the database is away.
                log.warning(
                    "delivery_results_retry",
                    error=repr(exc),
                    results=len(batch),
                    retry_in_s=backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:
                if len(batch) > 1:
                    # One result the database refuses must not hold back the others.
                    for result in batch:
                        await self._record([result])
                    return
                refusals += 1
                if refusals >= _REFUSALS_BEFORE_DROP:
                    # A bug, not an outage: the row stays 'sending' under this live worker, so
                    # it is not sent again, and an operator sees the error.
                    log.error("delivery_result_dropped", error=repr(exc), result=repr(batch[0]))
                    return
                log.error("delivery_result_refused", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff *= 2
        self.last_progress = time.monotonic()
        for result in batch:
            if result.outcome in _COUNTED:
                NOTIFICATIONS.labels(result.channel, _COUNTED[result.outcome]).inc()
        services.log_folds(folded)
        # A sent alert may be what the next revision of its sequence was waiting for.
        self._wake.set()


def _key(row: asyncpg.Record) -> str:
    key: str | None = row["content_key"]
    return key or f"row:{row['id']}"


def _sequence(job: Job) -> tuple[str, str, str] | None:
    # An account message is a sequence of one: nothing folds into it.
    if job.digest is not None or job.tender_id is None or job.account is not None:
        return None
    return (job.supplier_id, job.tender_id, job.channel)


def _seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 2)


def _logger(item: Job | asyncpg.Record) -> structlog.typing.FilteringBoundLogger:
    if isinstance(item, Job):
        if item.digest is not None:
            digest: structlog.typing.FilteringBoundLogger = log.bind(
                digest_id=item.id, supplier_id=item.supplier_id, attempt=item.attempt
            )
            return digest
        fields = {
            "notification_id": item.id,
            "supplier_id": item.supplier_id,
            "tender_id": item.tender_id,
            "correlation_id": item.correlation_id,
            "channel": item.channel,
            "attempt": item.attempt,
        }
    else:
        fields = {
            "notification_id": item["id"],
            "supplier_id": item["supplier_id"],
            "tender_id": item["tender_id"],
            "correlation_id": item["correlation_id"],
            "channel": item["channel"],
            "attempt": item["attempts"],
        }
    return log.bind(**fields)  # type: ignore[no-any-return]


class DigestScheduler:
    """Every `digest_interval_s`, queues the digests that are due (`services.assemble_digests`);
    the delivery worker sends them.

    A digest row and the claim of its entries commit together, as 'queued'; the worker then
    sends it through the same lanes, circuit breaker, backoff and horizon as every alert, with
    its own id as Message-ID. A crash mid-send leaves the digest 'sending' with its entries
    attached; once the dead worker's heartbeat is stale the same digest goes again, so nothing
    is lost and no entry moves to another digest.
    """

    def __init__(self, pool: asyncpg.Pool, settings: NotifySettings, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock
        self._loop = Periodic("digest-sender", self.flush_due, settings.digest_interval_s)

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def flush_due(self) -> int:
        """Assemble every digest that is due now; returns how many were queued."""
        return await services.assemble_digests(self._pool, self._clock.now())
