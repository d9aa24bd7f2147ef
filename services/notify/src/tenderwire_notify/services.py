"""Notify's use cases: put alerts in the ledger and fold them, put account messages in it,
record what the worker did, assemble the daily digests, suppress, unsubscribe and resubscribe
(from a link, the portal, on one channel or all), stop and resume texts (STOP and START
replies), record an SMS provider's status, forget an erased supplier, and requeue failed
alerts.

Account messages (verification links and codes, sign-in links) are rows in the delivery ledger,
of kinds of their own (`domain.ACCOUNT_KINDS`) and a tender id of their own per message
(`domain.account_tender_id`), rather than a table of their own. So the workers send them with
everything alerts have (the claim gate against suppressions, SMTP pool, SMS failover and
circuit breakers, retries and horizons, status callbacks, crash recovery), with no second claim,
recorder or sweep to keep in step; the ledger's unique key makes a redelivered message send
nothing new; and operators and the console read them where they read every other send. What
differs is small and stated where it applies: no quiet hours, digest or pause; an unsubscribe
does not stop them (`domain.account_message_refused_by`); `expires_at` fails them unsent.

A use case called inside the consumer's inbox transaction or the worker's recorder takes
`conn` and opens none; the others take the pool and own their transaction
(`unit_of_work(pool)`). `requeue_failed` is also run by `tw` on a connection of its own, so it
opens its transaction on that connection; this module imports no HTTP or provider module, to
keep `tw` quick to start.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import asyncpg
import structlog

from tenderwire_notify import domain, repository
from tenderwire_notify.domain import (
    NOTHING_TO_SEND,
    ChannelName,
    DeliveryState,
    Folded,
    NewDelivery,
    Outcome,
    Result,
    StopScope,
)
from tenderwire_notify.repository import Key, Pool
from tenderwire_shared.db import Connection, unit_of_work
from tenderwire_shared.envelope import RawEnvelope, new_event_id
from tenderwire_shared.events.accounts import AccountMessage
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.metrics import NOTIFICATIONS

if TYPE_CHECKING:
    from tenderwire_notify.schemas import Subscriber

log = structlog.get_logger()


# --- Alerts into the ledger ----------------------------------------------------------------


async def queue_alerts(
    conn: Connection, alerts: Sequence[tuple[RawEnvelope, MatchCreated]], now: datetime
) -> None:
    """Put each alert in the ledger, per channel, and fold what waits; a whole batch in a few
    statements. Nothing is sent from here: the delivery worker sends it later. In the
    consumer's transaction."""
    if not alerts:
        return
    gone = await repository.deactivated(conn, [m.recipient.supplier_id for _, m in alerts])
    await withhold_while_paused(conn, [m.recipient for _, m in alerts], now)
    rows: list[NewDelivery] = []
    for envelope, match in alerts:
        if match.recipient.supplier_id in gone:
            log.info("alert_dropped", supplier_id=match.recipient.supplier_id, reason="deactivated")
            continue
        rows.extend(deliveries_for(envelope, match, now))
    inserted = await repository.insert_deliveries(conn, rows)
    folded = await refold(conn, [(r.supplier_id, r.tender_id, r.channel) for r in inserted])
    if any(r.state == DeliveryState.QUEUED for r in inserted):
        await repository.wake(conn)
    fresh = {r.id for r in inserted}
    for row in rows:
        if row.id in fresh and row.state == DeliveryState.SUPPRESSED:
            NOTIFICATIONS.labels(row.channel, DeliveryState.SUPPRESSED).inc()
    for row in rows:
        log.info(
            "delivery_queued" if row.id in fresh else "delivery_exists",
            notification_id=row.id if row.id in fresh else None,
            channel=row.channel,
            supplier_id=row.supplier_id,
            tender_id=row.tender_id,
            correlation_id=row.correlation_id,
        )
    log_folds(folded)


def deliveries_for(envelope: RawEnvelope, match: MatchCreated, now: datetime) -> list[NewDelivery]:
    """One ledger row per channel. An alert that must not go (a pause, an unverified
    contact: `domain.withheld`) is still a row, 'suppressed' with the reason, so an operator
    asking why a supplier did not hear of a tender reads it in the ledger.

    Several e-mail contacts share the e-mail row: its `address` is the first verified one,
    and the worker sends the same alert to each other verified contact (`also_email`) from
    that row, so the ledger's one row per (supplier, tender, revision, kind, channel) still
    keeps each sequence in order and never sends twice."""
    recipient = match.recipient
    due = domain.deferred_until(now, recipient.timezone, recipient.quiet_hours)
    match_json = match.model_dump_json()
    key = domain.content_key(match, language=recipient.language, timezone=recipient.timezone)
    rows = []
    for channel, own_address in domain.channels_for(recipient):
        reason = domain.withheld(recipient, channel, now)
        address = own_address
        others: tuple[str, ...] = ()
        if channel == ChannelName.EMAIL and reason is None:
            address, *rest = domain.email_addresses(recipient)
            others = tuple(rest)
        rows.append(
            NewDelivery(
                id=new_event_id(),
                supplier_id=recipient.supplier_id,
                tender_id=match.tender.tender_id,
                revision=match.tender.revision,
                kind=match.kind.value,
                channel=channel,
                address=address,
                language=recipient.language,
                timezone=recipient.timezone,
                match_json=match_json,
                correlation_id=envelope.correlationid,
                state=(
                    DeliveryState.SUPPRESSED
                    if reason is not None
                    else domain.initial_state(recipient, channel)
                ),
                digest_hour=recipient.digest_hour,
                next_attempt_at=due,
                # The horizon counts from when the alert is due, not from a quiet night before.
                retry_since=due,
                content_key=key,
                recipient_name=recipient.legal_name,
                last_error=reason,
                other_addresses=others,
            )
        )
    return rows


async def withhold_while_paused(
    conn: Connection, recipients: Sequence[Recipient], now: datetime
) -> None:
    """A supplier that paused its alerts gets none of those still waiting either (queued for
    after quiet hours, batched for a digest): they are suppressed with the pause's reason. In
    the consumer's transaction."""
    paused: dict[str, str] = {}
    for recipient in recipients:
        if recipient.paused_until is not None and recipient.paused_until > now:
            paused[recipient.supplier_id] = domain.withheld(recipient, ChannelName.EMAIL, now) or ""
    if paused:
        withheld = await repository.withhold_waiting(conn, list(paused), list(paused.values()))
        if withheld:
            log.info("alerts_paused", suppliers=len(paused), withheld=withheld)


# --- Account messages ----------------------------------------------------------------------


async def queue_account_message(
    conn: Connection, envelope: RawEnvelope, message: AccountMessage, now: datetime
) -> None:
    """Put a verification or sign-in message in the ledger, due now: no quiet hours, digest
    or pause holds it, and it goes to an unverified address too (that is what it is for).
    A redelivered message is already there and sends nothing new; one that arrives expired
    is recorded as failed, unsent; an erased supplier's is dropped, unrecorded. In the
    consumer's transaction."""
    if await repository.erased(conn, [message.supplier_id]):
        log.info("account_message_dropped", supplier_id=message.supplier_id, reason="erased")
        return
    expired = domain.is_expired(message.expires_at, now)
    row = NewDelivery(
        id=new_event_id(),
        supplier_id=message.supplier_id,
        tender_id=domain.account_tender_id(message),
        revision=0,
        kind=message.purpose.value,
        channel=message.channel.value,
        address=message.address,
        language=message.language,
        timezone=message.timezone,
        # An expired link or code is kept no more than one already sent (see SECRETS).
        match_json=message.model_dump_json(exclude=set(domain.SECRETS) if expired else None),
        correlation_id=envelope.correlationid,
        state=DeliveryState.FAILED if expired else DeliveryState.QUEUED,
        digest_hour=0,
        next_attempt_at=now,
        retry_since=now,
        content_key=f"account:{message.message_id}",
        recipient_name=message.legal_name,
        last_error=domain.ACCOUNT_MESSAGE_EXPIRED if expired else None,
        expires_at=message.expires_at,
    )
    inserted = await repository.insert_deliveries(conn, [row])
    if inserted and not expired:
        await repository.wake(conn)
    if inserted and expired:
        NOTIFICATIONS.labels(row.channel, DeliveryState.FAILED).inc()
    log.info(
        "account_message_queued" if inserted else "account_message_exists",
        notification_id=row.id if inserted else None,
        message_id=message.message_id,
        purpose=message.purpose.value,
        channel=row.channel,
        supplier_id=row.supplier_id,
        expired=expired,
        correlation_id=row.correlation_id,
    )


# --- Leaving: deactivation and erasure -----------------------------------------------------


async def erase_supplier(conn: Connection, supplier_id: str, erased_at: datetime) -> None:
    """The supplier's account is deleted: it gets nothing more (as a deactivated supplier,
    and no account message either), and every contact detail notify holds of it is erased in
    this one transaction (the consumer's): the ledger's addresses, names and the contacts in
    its stored matches and account messages (links and codes too), errors quoting them, its
    digests' addresses, and the suppressions of its addresses that no other supplier's
    alerts use. What an audit needs stays: ids, tenders, kinds, channels, states, attempts,
    errors (with the contact details cut out), provider references and timestamps."""
    gone = await repository.erase_supplier(conn, supplier_id, erased_at)
    log.info("supplier_erased", supplier_id=supplier_id, **gone)


async def deactivate_supplier(conn: Connection, supplier_id: str) -> None:
    """A deactivated supplier gets nothing more. In the consumer's transaction."""
    dropped = await repository.deactivate(conn, supplier_id)
    log.info("supplier_deactivated", supplier_id=supplier_id, dropped=dropped)


async def refold(conn: Connection, keys: Sequence[Key]) -> list[Folded]:
    """Where several alerts of one (supplier, tender, channel) wait unsent, fold them into the
    newest, by `domain.fold`. Rows a worker has claimed are left alone: they are on their way,
    and the newest waits for them (see `repository.claim_alerts`). In a transaction."""
    if not keys:
        return []
    groups = await repository.waiting_sequences(conn, set(keys))
    # A lone amendment or cancellation may follow a new-tender alert that folded into nothing:
    # the supplier has still not been told of the tender, and the lone alert must fold too.
    # A first, unlocked look keeps the common case cheap (an amendment to suppliers already
    # told): a row on its way now can only come back through the recorder, which refolds.
    lone = [repository.key_of(r) for r in groups if r["waiting"] == 1 and r["not_new"]]
    maybe_never_told = await repository.never_told(conn, lone)
    candidates = [repository.key_of(r) for r in groups if r["waiting"] > 1]
    candidates += [key for key in lone if key in maybe_never_told]
    if not candidates:
        return []
    rows = await repository.lock_waiting(conn, candidates)
    # Only now, with the waiting rows locked, is "never told" asked: a row a worker claimed
    # while this waited for the lock is on its way, and the supplier counts as told.
    never_told = await repository.never_told(conn, candidates)
    sequences: dict[Key, list[asyncpg.Record]] = {}
    for row in rows:
        sequences.setdefault(repository.key_of(row), []).append(row)
    results = []
    for key, sequence in sequences.items():
        if len(sequence) == 1 and (key not in never_told or sequence[0]["kind"] == MatchKind.NEW):
            continue
        *earlier, newest = sequence
        folded = domain.fold(
            [MatchCreated.model_validate_json(r["match"]) for r in earlier],
            MatchCreated.model_validate_json(newest["match"]),
            never_told=key in never_told,
        )
        gone = [r["id"] for r in earlier]
        await repository.supersede(conn, gone, by=newest["id"], revision=newest["revision"])
        if folded is None:
            await repository.supersede_alone(conn, newest["id"], reason=NOTHING_TO_SEND)
            results.append(Folded(None, (*gone, newest["id"]), key))
            continue
        await repository.replace_match(
            conn,
            newest["id"],
            match_json=folded.model_dump_json(),
            content_key=domain.content_key(
                folded, language=newest["language"], timezone=newest["timezone"]
            ),
        )
        results.append(Folded(newest["id"], tuple(gone), key))
    return results


def log_folds(folded: Sequence[Folded]) -> None:
    for fold in folded:
        log.info(
            "delivery_folded",
            supplier_id=fold.key[0],
            tender_id=fold.key[1],
            channel=fold.key[2],
            notification_id=fold.kept,
            superseded=list(fold.superseded),
        )


# --- What the worker did -------------------------------------------------------------------


async def record_results(conn: Connection, results: Sequence[Result]) -> list[Folded]:
    """Write a batch of the worker's results. Only a row still 'sending' changes: a status
    callback may already have moved it on. An alert back in the queue may now have a newer
    revision waiting behind it, so its sequence is folded again. One transaction, the
    caller's; a batch of sent alerts only is a single statement and needs none."""
    await repository.record_results(conn, results)
    waiting = repository.waiting_again([r for r in results if not r.digest])
    return await refold(conn, [r.key for r in waiting if r.key is not None])


def only_sent_alerts(results: Sequence[Result]) -> bool:
    """True when `record_results` writes these in one statement, atomic on its own."""
    # Copies to a supplier's other addresses are a second statement: then a transaction.
    return all(
        r.outcome == Outcome.SENT and not r.digest and not r.copies and not r.account
        for r in results
    )


# --- Daily digests -------------------------------------------------------------------------


async def assemble_digests(pool: Pool, now: datetime) -> int:
    """Queue every digest that is due now, with its entries attached; returns how many.

    One replica assembles at a time (a session advisory lock), so two replicas never race to
    build the same supplier's digest. The worker then sends each like any alert.
    """
    async with pool.acquire() as lock_conn:
        if not await repository.try_lock_digest_assembly(lock_conn):
            return 0
        try:
            queued = 0
            for supplier in await repository.suppliers_with_batched_alerts(pool):
                day = domain.local_day_if_due(now, supplier["timezone"], supplier["digest_hour"])
                if day is not None and await _queue_digest(pool, supplier, day, now):
                    queued += 1
            return queued
        finally:
            await repository.unlock_digest_assembly(lock_conn)


async def _queue_digest(pool: Pool, supplier: asyncpg.Record, day: date, now: datetime) -> bool:
    """Queue today's digest for this supplier with every batched alert attached; False if
    today's digest has already gone (the alerts then wait for tomorrow's)."""
    digest_id = new_event_id()
    async with unit_of_work(pool) as conn:
        entries = await repository.queue_digest(
            conn, digest_id=digest_id, supplier=supplier, day=day, now=now
        )
        if entries is None:
            return False
        await repository.wake(conn)
    log.info(
        "digest_queued", digest_id=digest_id, supplier_id=supplier["supplier_id"], entries=entries
    )
    return True


# --- Suppressions and unsubscribes ---------------------------------------------------------


async def suppress(pool: Pool, channel: str, address: str, reason: str) -> None:
    """The address gets nothing more on this channel (hard bounces and unsubscribes)."""
    async with unit_of_work(pool) as conn:
        await repository.suppress(conn, channel, address, reason)


async def unsubscribe(
    pool: Pool, subscriber: Subscriber, *, scope: StopScope | str, timeout_s: float
) -> list[tuple[str, str]]:
    """Stop alerts from an unsubscribe link; returns the (channel, address) pairs now stopped.

    - scope `channel` (and RFC 8058 one-click) stops the link's own address on the link's
      own channel: an e-mail's link stops e-mail to that address, and nothing else. Texts to
      the supplier's phone go on.
    - scope `all` stops every address the supplier is reached at, on every channel: each
      (channel, address) its alerts in the ledger went or go to, and the e-mail and phone of
      its newest alert, so its texts stop too. A phone or e-mail address the supplier
      registers later is a new address, and is not stopped.

    Stopping is per (channel, address), as a bounce is: alerts waiting for a stopped address,
    and every later one, are marked 'suppressed' and never sent; a digest to it is not sent.
    Once this returns, nothing more reaches a stopped address. No send holds a database
    connection, so the promise is kept in two steps instead of one long lock:
    1. The suppressions commit under the exclusive side of the claim gate
       (`repository.SUPPRESSION_GATE`). Every claim takes the shared side, so a claim either
       sees the suppressions, or has made its rows 'sending' before they commit.
    2. This then waits, up to `timeout_s` in all, until no alert or digest to those
       addresses is 'sending': those were claimed before and are finishing now.
    """
    scope = StopScope(scope)
    link = (subscriber.channel, subscriber.address)
    async with unit_of_work(pool) as conn:
        pairs = [link] if scope is StopScope.CHANNEL else await _every_address(conn, subscriber)
        await repository.suppress_addresses(conn, pairs, domain.UNSUBSCRIBED)
    if not await wait_for_sends_to(pool, pairs, timeout_s=timeout_s):
        log.warning("unsubscribe_wait_timed_out", supplier_id=subscriber.supplier_id)
    log.info(
        "unsubscribed",
        supplier_id=subscriber.supplier_id,
        scope=scope.value,
        channels=sorted({channel for channel, _ in pairs}),
        addresses=len(pairs),
    )
    return pairs


@dataclass(frozen=True)
class Resubscribed:
    lifted: list[tuple[str, str]]
    """The (channel, address) pairs whose opt-out was lifted."""
    still_refused: list[tuple[str, str]]
    """Those that stay suppressed for another reason (a bounce, a complaint)."""


async def resubscribe(
    pool: Pool, subscriber: Subscriber, *, scope: StopScope | str
) -> Resubscribed:
    """Undo an unsubscribe from the link's page.

    Lifts only what an unsubscribe link did (`domain.LINK_UNDOES`) to the same addresses
    `unsubscribe` with that scope stops. A STOP texted from a phone stays (only START from
    that phone lifts it), and so does a hard bounce or a complaint: the page names each
    address that still gets nothing. Alerts already marked 'suppressed' stay unsent; the next
    alert goes out.
    """
    scope = StopScope(scope)
    async with unit_of_work(pool) as conn:
        pairs = (
            [(subscriber.channel, subscriber.address)]
            if scope is StopScope.CHANNEL
            else await _every_address(conn, subscriber)
        )
        lifted = await repository.lift_suppressions(conn, pairs, domain.LINK_UNDOES)
        refused = await repository.still_suppressed(conn, pairs)
    log.info(
        "resubscribed",
        supplier_id=subscriber.supplier_id,
        scope=scope.value,
        channels=sorted({channel for channel, _ in lifted}),
        addresses=len(lifted),
        still_refused=len(refused),
    )
    return Resubscribed(lifted=lifted, still_refused=refused)


@dataclass(frozen=True)
class ChannelStatus:
    channel: str
    address: str
    stopped: bool
    reason: str | None
    """Why nothing goes there: 'unsubscribed', 'sms-stop', or the provider's refusal."""


async def channel_statuses(
    pool: Pool | Connection, pairs: Sequence[tuple[str, str]]
) -> list[ChannelStatus]:
    """Whether each (channel, address) is stopped, and why, in the order given."""
    stops = await repository.suppressions_of(pool, pairs)
    statuses = []
    for channel, address in pairs:
        reason = stops.get((channel, address.lower()))
        statuses.append(ChannelStatus(channel, address, reason is not None, reason))
    return statuses


async def set_subscribed(
    pool: Pool,
    supplier_id: str,
    pairs: Sequence[tuple[str, str]],
    *,
    subscribed: bool,
    timeout_s: float,
) -> list[ChannelStatus]:
    """The portal's switch, as the unsubscribe link's pages do it: stopping suppresses these
    addresses ('unsubscribed', under the claim gate) and waits for the sends to them already
    on their way; resuming lifts only what an unsubscribe did (`domain.LINK_UNDOES`), never
    a STOP texted from the phone, a bounce or a complaint. Returns each pair's status after."""
    async with unit_of_work(pool) as conn:
        if subscribed:
            await repository.lift_suppressions(conn, pairs, domain.LINK_UNDOES)
        else:
            await repository.suppress_addresses(conn, pairs, domain.UNSUBSCRIBED)
    if not subscribed and not await wait_for_sends_to(pool, pairs, timeout_s=timeout_s):
        log.warning("unsubscribe_wait_timed_out", supplier_id=supplier_id)
    log.info(
        "resubscribed" if subscribed else "unsubscribed",
        supplier_id=supplier_id,
        scope="portal",
        channels=sorted({channel for channel, _ in pairs}),
        addresses=len(pairs),
    )
    return await channel_statuses(pool, pairs)


async def _every_address(conn: Connection, subscriber: Subscriber) -> list[tuple[str, str]]:
    email, phone = await repository.newest_contacts(conn, subscriber.supplier_id)
    return domain.every_address(
        (subscriber.channel, subscriber.address),
        await repository.supplier_addresses(conn, subscriber.supplier_id),
        email,
        phone,
    )


# --- Replies to SMS alerts: STOP, START, HELP ----------------------------------------------


async def stop_texts(pool: Pool, number: str, *, wait_s: float) -> str | None:
    """STOP texted back: no more SMS alerts reach this number, from any supplier's alerts,
    until it texts START. E-mail is not touched. Idempotent: a second STOP changes nothing.

    The suppression (reason 'sms-stop') commits under the claim gate, as an unsubscribe
    does; this then waits up to `wait_s` for texts to the number already on their way, so the
    confirmation is, as far as it can be, the last text the number gets. Returns the language
    of the newest alert to the number (what the confirmation is written in), or None."""
    async with unit_of_work(pool) as conn:
        await repository.suppress_addresses(conn, [(ChannelName.SMS, number)], domain.SMS_STOP)
        language = await repository.latest_language(conn, ChannelName.SMS, number)
    await wait_for_sends_in_flight(pool, ChannelName.SMS, number, timeout_s=wait_s)
    return language


@dataclass(frozen=True)
class Resumed:
    language: str | None
    """The language of the newest alert to the number, or None."""
    still_refused: bool
    """The number stays suppressed for another reason (the provider refused it)."""


async def resume_texts(pool: Pool, number: str) -> Resumed:
    """START texted back: SMS alerts to this number start again with the next alert, if the
    number stopped them itself (STOP, or an unsubscribe link); a number the provider refused
    stays suppressed, and the reply says so."""
    pair = [(ChannelName.SMS.value, number)]
    async with unit_of_work(pool) as conn:
        await repository.lift_suppressions(conn, pair, domain.OPT_OUT_REASONS)
        refused = bool(await repository.still_suppressed(conn, pair))
        language = await repository.latest_language(conn, ChannelName.SMS, number)
    return Resumed(language=language, still_refused=refused)


async def texts_language(pool: Pool, number: str) -> str | None:
    """The language of the newest SMS alert to this number, or None: what a reply to it
    (HELP, say) is written in. Changes nothing."""
    return await repository.latest_language(pool, ChannelName.SMS, number)


async def wait_for_sends_in_flight(
    pool: Pool, channel: str, address: str, *, timeout_s: float
) -> bool:
    """Wait until the sends claimed before a suppression have finished; False on timeout.

    The timeout only bites when a worker died holding a row; a dead worker sends nothing more,
    and its rows are claimed again later, and then suppressed."""
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while await repository.sends_in_flight(pool, channel, address):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
    return True


async def wait_for_sends_to(
    pool: Pool, pairs: Sequence[tuple[str, str]], *, timeout_s: float
) -> bool:
    """`wait_for_sends_in_flight` for several (channel, address) pairs, within one timeout in
    all; False if it ran out."""
    deadline = time.monotonic() + timeout_s
    for channel, address in pairs:
        left = max(0.0, deadline - time.monotonic())
        if not await wait_for_sends_in_flight(pool, channel, address, timeout_s=left):
            return False
    return True


# --- SMS status callbacks ------------------------------------------------------------------


async def record_sms_status(pool: Pool, delivery_id: str, state: DeliveryState, error: str) -> bool:
    """Move the SMS delivery to `state` if that is up its ranks (`domain.SMS_RANKS`); True
    when it moved. One statement, atomic on its own: a late or repeated callback changes
    nothing, and the worker only ever moves 'sending' to 'sent', so it cannot undo it."""
    return await repository.apply_sms_status(
        pool, delivery_id, state=state, rank=domain.sms_rank(state), error=error
    )


# --- Requeue failed alerts (`tw deliveries requeue`) ---------------------------------------


@dataclass(frozen=True)
class RequeuedDelivery:
    id: str
    supplier_id: str
    tender_id: str
    channel: str
    revision: int
    # The worker will mark it 'suppressed' instead of sending it.
    to_suppressed_address: bool


@dataclass(frozen=True)
class SkippedDelivery:
    id: str
    supplier_id: str
    tender_id: str
    channel: str
    revision: int
    reason: str


@dataclass(frozen=True)
class RequeueResult:
    dry_run: bool
    requeued: tuple[RequeuedDelivery, ...]
    skipped: tuple[SkippedDelivery, ...]

    @property
    def matched(self) -> int:
        return len(self.requeued) + len(self.skipped)

    @property
    def to_suppressed(self) -> int:
        return sum(1 for d in self.requeued if d.to_suppressed_address)


async def requeue_failed(
    conn: Connection,
    *,
    tender_id: str | None = None,
    supplier_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: str | None = None,
    dry_run: bool = False,
) -> RequeueResult:
    """Requeue failed alerts (not digest entries) that match every filter given, with a fresh
    retry horizon and attempt count; the last error stays as the record of why it failed.

    `since` (inclusive) and `until` (exclusive) bound when the delivery failed. An alert whose
    later revision (same supplier, tender and channel) is sent, delivered, queued or sending
    is skipped, with the reason. With `dry_run` nothing changes: the same answer, no write.
    RequeueFilterError when no tender, supplier, since or until is given. Owns its
    transaction (read-only for a dry run) on the connection it is given.
    """
    domain.check_requeue_filters(tender_id, supplier_id, since, until)
    async with conn.transaction(readonly=dry_run):
        rows = await repository.failed_alerts(
            conn,
            tender_id=tender_id,
            supplier_id=supplier_id,
            since=since,
            until=until,
            channel=channel,
            lock=not dry_run,
        )
        requeued = tuple(
            RequeuedDelivery(
                r["id"],
                r["supplier_id"],
                r["tender_id"],
                r["channel"],
                r["revision"],
                to_suppressed_address=r["suppressed"],
            )
            for r in rows
            if r["ahead_revision"] is None
        )
        skipped = tuple(
            SkippedDelivery(
                r["id"],
                r["supplier_id"],
                r["tender_id"],
                r["channel"],
                r["revision"],
                reason=domain.out_of_order(r["revision"], r["ahead_revision"], r["ahead_state"]),
            )
            for r in rows
            if r["ahead_revision"] is not None
        )
        if requeued and not dry_run:
            await repository.requeue(conn, [d.id for d in requeued])
    return RequeueResult(dry_run=dry_run, requeued=requeued, skipped=skipped)
