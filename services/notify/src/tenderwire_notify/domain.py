"""Notify's pure rules and types: the states of a delivery, which channels an alert goes by
and when, which alert a supplier gets when several wait, when to try again, when a relay
counts as down, how an SMS status callback moves a delivery, and which failed deliveries an
operator may requeue. No I/O and no clock reads here: time is a parameter."""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tenderwire_shared.events.accounts import AccountMessage, AccountPurpose
from tenderwire_shared.events.matches import (
    Delivery,
    MatchCreated,
    MatchKind,
    QuietHours,
    Recipient,
)
from tenderwire_shared.events.tenders import FieldChange

# --- Delivery states -----------------------------------------------------------------------


class DeliveryState(StrEnum):
    """Where one ledger row stands: an alert in `deliveries`, or a daily digest in `digests`
    (a digest is only ever QUEUED, SENDING, SENT or FAILED). The SQL in `repository` writes
    these same words."""

    BATCHED = "batched"
    """Waits, unsent, for the supplier's daily digest (e-mail only)."""
    QUEUED = "queued"
    """Waits, unsent, for its `next_attempt_at`."""
    SENDING = "sending"
    """Claimed by a worker (or attached to a digest being sent)."""
    SENT = "sent"
    """A provider accepted it."""
    DELIVERED = "delivered"
    """The SMS provider reported it delivered."""
    FAILED = "failed"
    """Refused for good, or not sent within the retry horizon; an operator may requeue it."""
    SUPERSEDED = "superseded"
    """Folded into a newer alert about the same tender, or obsolete on arrival."""
    SUPPRESSED = "suppressed"
    """Its address bounced or unsubscribed, or its supplier was deactivated."""


class Outcome(StrEnum):
    """What became of one claimed job, as the worker reports it to the ledger."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    RELEASED = "released"
    """Claimed but not tried (the channel paused, or the worker stops): no attempt used."""


@dataclass(frozen=True)
class Result:
    """What became of one claimed job; written in batches by `services.record_results`."""

    job_id: str
    digest: bool
    outcome: Outcome
    channel: str
    key: tuple[str, str, str] | None = None  # (supplier, tender, channel) of an alert
    error: str | None = None
    provider_ref: str | None = None
    next_attempt_at: datetime | None = None
    refund_attempt: bool = False
    suppress_address: str | None = None
    copies: tuple[str, ...] = ()
    """The addresses that took it on this try (the row's own and the supplier's others)."""
    suppress_copies: tuple[str, ...] = ()
    """The supplier's other addresses that refused it for good (hard bounces)."""
    account: bool = False
    """An account message's: once it is sent or failed, its link or code is forgotten."""


@dataclass(frozen=True)
class NewDelivery:
    """One alert on one channel, as the match consumer puts it in the ledger."""

    id: str
    supplier_id: str
    tender_id: str
    revision: int
    kind: str
    channel: str
    address: str
    language: str
    timezone: str
    match_json: str
    correlation_id: str | None
    state: DeliveryState
    digest_hour: int
    next_attempt_at: datetime
    retry_since: datetime
    content_key: str
    recipient_name: str
    last_error: str | None = None
    """Why a row is 'suppressed' from the start (`withheld`)."""
    expires_at: datetime | None = None
    """An account message's: not sent after it."""
    other_addresses: tuple[str, ...] = ()
    """The supplier's other verified e-mail contacts, each sent this alert from this row."""


@dataclass(frozen=True)
class Inserted:
    id: str
    supplier_id: str
    tender_id: str
    channel: str
    state: str


@dataclass(frozen=True)
class Folded:
    """Waiting alerts of one (supplier, tender, channel) folded into `kept` (None: into
    nothing at all)."""

    kept: str | None
    superseded: tuple[str, ...]
    key: tuple[str, str, str]


# --- Channels ------------------------------------------------------------------------------


class ChannelName(StrEnum):
    EMAIL = "email"
    SMS = "sms"


def channels_for(recipient: Recipient) -> list[tuple[ChannelName, str]]:
    """(channel, address) pairs: e-mail always; SMS as well for suppliers with a mobile who
    want alerts at once. A digest is a long read, so it goes by e-mail only."""
    channels = [(ChannelName.EMAIL, recipient.email)]
    if recipient.phone and recipient.delivery is Delivery.IMMEDIATE:
        channels.append((ChannelName.SMS, recipient.phone))
    return channels


def initial_state(recipient: Recipient, channel: str) -> DeliveryState:
    """A digest supplier's e-mail waits for the digest; everything else is queued."""
    digest = recipient.delivery is Delivery.DAILY_DIGEST and channel == ChannelName.EMAIL
    return DeliveryState.BATCHED if digest else DeliveryState.QUEUED


# --- Alerts withheld: unverified contacts, a pause -----------------------------------------

NOT_VERIFIED = "address not verified"
"""Why an alert to a contact the supplier has not verified (double opt-in) is not sent."""


def email_addresses(recipient: Recipient) -> list[str]:
    """Every address the supplier's e-mail alerts go to, in order: its e-mail if verified,
    then its other verified contacts (`also_email`), each once (compared ignoring case)."""
    candidates = [recipient.email] if recipient.email_verified else []
    candidates += recipient.also_email
    seen: set[str] = set()
    addresses = []
    for address in candidates:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            addresses.append(address)
    return addresses


def withheld(recipient: Recipient, channel: str, now: datetime) -> str | None:
    """Why an alert on `channel` is recorded as 'suppressed' rather than sent, or None.

    A pause (until `paused_until`) withholds every alert, immediate or digest: it is not
    deferred, and alerts arriving after it flow again. Otherwise only verified contacts get
    alerts: an e-mail alert needs a verified address (its own or another contact's), a text
    a verified phone. Account messages never pass here: they are how a contact gets verified.
    """
    if recipient.paused_until is not None and recipient.paused_until > now:
        return f"paused until {recipient.paused_until.astimezone(UTC).isoformat()}"
    if channel == ChannelName.EMAIL:
        return None if email_addresses(recipient) else NOT_VERIFIED
    return None if recipient.phone_verified else NOT_VERIFIED


# --- Account messages: verification links and codes, sign-in links -------------------------

ACCOUNT_KINDS: frozenset[str] = frozenset(purpose.value for purpose in AccountPurpose)
"""The ledger `kind`s of account messages; alerts are 'new', 'amended' or 'cancelled'."""
ALERT_KINDS: tuple[str, ...] = tuple(kind.value for kind in MatchKind)

ACCOUNT_MESSAGE_EXPIRED = "expired: the link or code stopped working before it could be sent"
SUPPLIER_ERASED = "supplier erased"


def account_tender_id(message: AccountMessage) -> str:
    """The ledger's `tender_id` of an account message: one of its own per message, so the
    ledger's unique key makes a redelivered message send nothing new."""
    return f"account:{message.message_id}"


def account_message_refused_by(reason: str) -> bool:
    """Whether a suppression with `reason` stops an account message too.

    An unsubscribe link stops alerts, and the supplier asked for this message, so it goes.
    A hard bounce or a complaint stops it (the address refused mail, whoever asks), and so
    does a STOP texted from a phone: a carrier opt-out holds for every text from us."""
    return reason != UNSUBSCRIBED


SECRETS = ("link", "code")
"""What of an account message is a credential: kept only while the message may still go."""


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


# --- Quiet hours and the digest hour -------------------------------------------------------


def deferred_until(now: datetime, timezone_name: str, quiet: QuietHours | None) -> datetime:
    """When an immediate alert may leave: `now` itself, or the end of the quiet period it
    falls in, as an aware UTC time.

    The end is built as a local wall-clock time and converted by the zone's rules, so a
    daylight-saving change inside the quiet period moves it by the right hour.
    """
    if quiet is None or quiet.start == quiet.end:
        return now
    zone = ZoneInfo(timezone_name)
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= moment < quiet.end
        end_day = local.date()
    else:  # over midnight, e.g. 22:00 to 07:00
        inside = moment >= quiet.start or moment < quiet.end
        end_day = local.date() + timedelta(days=1) if moment >= quiet.start else local.date()
    if not inside:
        return now
    return datetime.combine(end_day, quiet.end, tzinfo=zone).astimezone(UTC)


def local_day_if_due(now: datetime, timezone_name: str, digest_hour: int) -> date | None:
    """The supplier's local date when its digest hour has come today, else None."""
    local = now.astimezone(ZoneInfo(timezone_name))
    return local.date() if local.hour >= digest_hour else None


# --- Folding -------------------------------------------------------------------------------


def fold(
    earlier: Sequence[MatchCreated], later: MatchCreated, *, never_told: bool = False
) -> MatchCreated | None:
    """What to send instead of `earlier` (unsent alerts about one tender to one supplier on
    one channel, oldest first) and `later`, the newest of them. None means send nothing.

    `never_told`: a new-tender alert was meant for this supplier but nothing about the tender
    has left for it (an earlier fold came to nothing), so it still counts as never told.

    - Nothing waits before it and the supplier was told of the tender: `later` as it is.
    - The supplier was never told of the tender (a new-tender alert waits, or `never_told`):
      - a cancellation: nothing at all;
      - an amendment the supplier no longer matches: nothing at all;
      - otherwise: a new-tender alert for the tender as it now stands.
    - Amendments wait (the supplier knows the tender):
      - a cancellation: the cancellation alone;
      - an amendment: one amendment, each field from its first "before" to its last "after";
        a field changed and changed back is left out.
    """
    if never_told or any(m.kind is MatchKind.NEW for m in earlier):
        if later.kind is MatchKind.CANCELLED:
            return None
        if later.kind is MatchKind.AMENDED and not later.still_matches:
            return None
        return later.model_copy(
            update={"kind": MatchKind.NEW, "changes": (), "reason": None, "still_matches": True}
        )
    if not earlier:
        return later
    if later.kind is MatchKind.AMENDED:
        return later.model_copy(update={"changes": merged_changes([*earlier, later])})
    return later


NOTHING_TO_SEND = (
    "nothing to send: the supplier was never told of the tender, and it was cancelled"
    " or no longer matches"
)


def merged_changes(alerts: Sequence[MatchCreated]) -> tuple[FieldChange, ...]:
    first_before: dict[str, object] = {}
    last_after: dict[str, object] = {}
    for alert in alerts:
        for change in alert.changes:
            first_before.setdefault(change.field, change.before)
            last_after[change.field] = change.after
    return tuple(
        FieldChange(field=name, before=before, after=last_after[name])
        for name, before in first_before.items()
        if before != last_after[name]
    )


def content_key(match: MatchCreated, *, language: str, timezone: str) -> str:
    """Alerts with the same key read exactly the same, apart from the recipient's address,
    name, Message-ID and unsubscribe link.

    A tender revision never changes once published, so (tender id, revision) stands for the
    whole snapshot and only what differs between alerts about it needs hashing.
    """
    changes = (
        "[" + ",".join(c.model_dump_json() for c in match.changes) + "]" if match.changes else ""
    )
    words = (
        f"{match.tender.tender_id}|{match.tender.revision}|{match.kind.value}"
        f"|{int(match.still_matches)}|{match.reason or ''}|{changes}|{language}|{timezone}"
    )
    return hashlib.blake2b(words.encode(), digest_size=16).hexdigest()


# --- SMTP replies --------------------------------------------------------------------------

# The relay is closing the session (RFC 5321 4.2.3): about the relay, whichever command it ends.
SERVICE_CLOSING = 421


class SmtpVerdict(StrEnum):
    """What one SMTP reply to one message means for it."""

    HARD_BOUNCE = "hard_bounce"  # never again to this address: the address is suppressed
    PERMANENT = "permanent"  # this message fails for good; the address may take others
    TRANSIENT = "transient"  # this message waits its own backoff
    RELAY_DOWN = "relay_down"  # the relay's failure: the circuit breaker's, not the message's


def smtp_verdict(code: int, *, at_recipient: bool) -> SmtpVerdict:
    """A reply `code`, to RCPT TO (`at_recipient`) or to MAIL FROM or DATA.

    A 5xx to RCPT TO (550 mailbox unavailable, 551, 553...) refuses the mailbox itself: a hard
    bounce, and the address gets nothing more. A 5xx at MAIL FROM or DATA refuses this message
    (its size, its content), not the mailbox. 421 is the relay saying it is unwell. Any other
    4xx (greylisting, a full mailbox, a content filter's soft reject) is for now only.
    """
    if 500 <= code < 600:
        return SmtpVerdict.HARD_BOUNCE if at_recipient else SmtpVerdict.PERMANENT
    if code == SERVICE_CLOSING:
        return SmtpVerdict.RELAY_DOWN
    return SmtpVerdict.TRANSIENT


# --- Retries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter, until a horizon counted from `retry_since`."""

    base_delay: timedelta
    max_delay: timedelta
    horizon: timedelta

    def next_attempt(
        self,
        attempts: int,
        *,
        now: datetime,
        retry_since: datetime,
        rng: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after `attempts` failed tries, or None to give up."""
        give_up_at = retry_since + self.horizon
        if now >= give_up_at:
            return None
        exponent = min(max(attempts - 1, 0), 30)
        delay = min(self.base_delay * 2**exponent, self.max_delay)
        delay *= float((rng or random).uniform(0.5, 1.5))
        # The last try falls on the horizon itself rather than being skipped.
        retry_at: datetime = min(now + delay, give_up_at)
        return retry_at

    def relay_retry_at(
        self, *, now: datetime, retry_since: datetime, rng: random.Random | None = None
    ) -> datetime | None:
        """When to try again after the relay failed (not the message), or None to give up.

        The relay's circuit paces these retries, so the row waits a short while (the base
        delay, with jitter), not its own growing backoff, and leaves soon after the relay is
        back."""
        give_up_at = retry_since + self.horizon
        if now >= give_up_at:
            return None
        pause = self.base_delay * float((rng or random).uniform(0.5, 1.5))
        retry_at: datetime = min(now + pause, give_up_at)
        return retry_at


# --- Circuit breaker -----------------------------------------------------------------------


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Per relay or provider. `threshold` relay failures in a row open it; while open nothing
    is sent; after the cool-down one probe goes through (half-open): success closes it, failure
    opens it again for twice as long, up to `max_cooldown`."""

    name: str
    threshold: int = 3
    cooldown: timedelta = timedelta(seconds=1)
    max_cooldown: timedelta = timedelta(seconds=60)
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_until: datetime | None = None
    _current_cooldown: timedelta | None = field(default=None, repr=False)
    _probe_out: bool = field(default=False, repr=False)
    _probe_since: datetime | None = field(default=None, repr=False)

    def allows(self, now: datetime) -> bool:
        """May a send start now? In half-open state only one probe is let through."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            assert self.opened_until is not None
            if now < self.opened_until:
                return False
            self.state = BreakerState.HALF_OPEN
            self._probe_out = False
        if self._probe_out and not self._probe_lost(now):
            return False
        self._probe_out = True
        self._probe_since = now
        return True

    def _probe_lost(self, now: datetime) -> bool:
        # A probe whose result never came back (its task died) must not pause the channel for
        # good: after a cool-down another probe may go.
        since = self._probe_since
        return since is not None and now - since >= (self._current_cooldown or self.cooldown)

    def is_open(self, now: datetime) -> bool:
        """True while sends would be refused (open and cooling down, or a probe is out)."""
        if self.state is BreakerState.CLOSED:
            return False
        if self.state is BreakerState.OPEN:
            assert self.opened_until is not None
            return now < self.opened_until
        return self._probe_out and not self._probe_lost(now)

    def succeeded(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_until = None
        self._current_cooldown = None
        self._probe_out = False

    def failed(self, now: datetime) -> bool:
        """Record a relay failure; True when this failure opened the circuit."""
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN:
            cooldown = min((self._current_cooldown or self.cooldown) * 2, self.max_cooldown)
        elif self.state is BreakerState.CLOSED and self.failures >= self.threshold:
            cooldown = self.cooldown
        else:
            return False
        self.state = BreakerState.OPEN
        self._current_cooldown = cooldown
        self.opened_until = now + cooldown
        self._probe_out = False
        return True


# --- SMS status callbacks ------------------------------------------------------------------

# How far along an SMS delivery is. A provider's status callback only moves a row up these
# ranks, so a late "sent" never overwrites "delivered" and a repeated callback changes
# nothing. A state not listed (superseded, suppressed) is as final as `FINAL_RANK`.
# The one table: `repository` builds its SQL CASE from it.
SMS_RANKS: Mapping[DeliveryState, int] = {
    DeliveryState.QUEUED: 0,
    DeliveryState.SENDING: 1,
    DeliveryState.SENT: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.FAILED: 3,
}
FINAL_RANK = 3

# Provider status -> our state. Only statuses that say the provider has taken the message move
# a row: "queued" and "sending" would turn a row the worker will retry into a 'sending' row
# that no worker holds, and so strand it.
SMS_STATUSES: Mapping[str, DeliveryState] = {
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.FAILED,
    "failed": DeliveryState.FAILED,
}
SMS_PROGRESS_ONLY = frozenset({"accepted", "scheduled", "queued", "sending"})


def sms_rank(state: str) -> int:
    try:
        return SMS_RANKS.get(DeliveryState(state), FINAL_RANK)
    except ValueError:
        return FINAL_RANK


def sms_state_for(reported: str) -> DeliveryState | None:
    """The state a provider's status moves a delivery to; None for a status that moves
    nothing (progress only, or unknown)."""
    return SMS_STATUSES.get(reported.lower())


def sms_status_applies(current: str, reported: DeliveryState) -> bool:
    """Whether a callback reporting `reported` moves a row now in `current`: only upwards (the
    rule `repository.apply_sms_status` applies in SQL, from the same ranks). A
    "delivered" that overtakes the worker's own record of the send (the row still 'sending',
    or back to 'queued' after a timed-out request the provider did accept) applies."""
    return sms_rank(current) < sms_rank(reported)


def sms_status_error(reported: str, error_code: str | None) -> str:
    """The ledger's last error for a failed SMS (kept only when the state is 'failed')."""
    return f"provider reported {reported}" + (f" ({error_code})" if error_code else "")


# --- Requeue -------------------------------------------------------------------------------


class RequeueFilterError(ValueError):
    """The filters would requeue everything, or cannot match anything (since after until)."""


def check_requeue_filters(
    tender_id: str | None, supplier_id: str | None, since: datetime | None, until: datetime | None
) -> None:
    """RequeueFilterError unless the filters choose some failed deliveries, not all."""
    # The channel alone narrows, but does not choose: "every failed SMS ever" is still all.
    if tender_id is None and supplier_id is None and since is None and until is None:
        raise RequeueFilterError(
            "name a tender, a supplier, or a time range (since/until): requeuing every failed"
            " delivery at once is refused"
        )
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.utcoffset() is None:
            raise RequeueFilterError(f"{name} {moment.isoformat()} has no time zone")
    if since is not None and until is not None and since >= until:
        raise RequeueFilterError(
            f"since {since.isoformat()} is not before until {until.isoformat()}"
        )


# A later revision in one of these states has reached the supplier, or is about to: sending
# the earlier one now would tell the supplier the tender's story out of order.
AHEAD_OF_A_REQUEUE = (
    DeliveryState.QUEUED,
    DeliveryState.SENDING,
    DeliveryState.SENT,
    DeliveryState.DELIVERED,
)


def out_of_order(revision: int, ahead_revision: int, ahead_state: str) -> str:
    """Why a failed alert is not requeued: a later revision is ahead of it."""
    return (
        f"r{ahead_revision} is already {ahead_state}: sending r{revision} now would deliver"
        " revisions out of order"
    )


# --- Replies to an SMS alert: STOP, START and HELP in every language ------------------------


class SmsCommand(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


# The words carriers and regulators expect (the CTIA and AWS End User Messaging's opt-out and
# opt-in lists), and their usual equivalents in each language, as a reply's whole text.
# Compared after `sms_keyword` folds case, accents and punctuation, so "Arrêt", "ARRET" and
# "arret." are one word. Ambiguous words are left out: SI/SIM/YES mean "yes" to anything.
# fmt: off
_SMS_WORDS: Mapping[SmsCommand, frozenset[str]] = {
    SmsCommand.STOP: frozenset(
        {
            # English, and the carriers' standard set
            "stop",
            "stopall",
            "unsubscribe",
            "cancel",
            "end",
            "quit",
            "optout",
            "opt out",
            "revoke",
            "remove",
            # French
            "arret",
            "arreter",
            "desabonner",
            "desinscrire",
            # Spanish
            "alto",
            "parar",
            "baja",
            "cancelar",
            "detener",
            # Portuguese
            "sair",
            "pare",
            # Russian
            "стоп",
            "отписаться",
            "отписка",
            "отмена",
            # Chinese: 退订 and its pinyin initials TD are China's usual opt-out reply
            "停止",
            "退订",
            "td",
            "取消订阅",
            "取消",
            # Arabic (the hamza is folded away: ايقاف and إيقاف are one word)
            "ايقاف",
            "أوقف",
            "الغاء",
            "الغاء الاشتراك",
            "توقف",
        }
    ),
    SmsCommand.START: frozenset(
        {
            "start",
            "unstop",
            "subscribe",
            "resume",
            "demarrer",
            "reprendre",
            "iniciar",
            "alta",
            "reanudar",
            "comecar",
            "retomar",
            "voltar",
            "старт",
            "начать",
            "подписаться",
            "开始",
            "订阅",
            "恢复",
            "بدء",
            "اشتراك",
            "استئناف",
        }
    ),
    SmsCommand.HELP: frozenset(
        {"help", "info", "aide", "ayuda", "ajuda", "помощь", "帮助", "مساعدة"}
    ),
}
# fmt: on


def sms_keyword(text: str) -> str:
    """A reply's text as the keyword lists are written: case, accents (and Arabic's hamza
    seats and diacritics), punctuation, emoji and extra spaces folded away. Format characters
    (zero-width spaces and joiners, soft hyphens, direction marks, the BOM) show nothing, so
    they part no words: "S\u200bTOP" is STOP."""
    folded = []
    for character in unicodedata.normalize("NFKD", text.casefold()):
        if unicodedata.combining(character) or unicodedata.category(character) == "Cf":
            continue
        c = _ARABIC_FOLDS.get(character, character)
        folded.append(c if unicodedata.category(c)[0] in "LN" else " ")
    return " ".join("".join(folded).split())


# Alef forms with hamza or madda, and alef maksura, as most people type them without.
_ARABIC_FOLDS = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"}


SMS_KEYWORDS: Mapping[SmsCommand, frozenset[str]] = {
    command: frozenset(sms_keyword(word) for word in words) for command, words in _SMS_WORDS.items()
}


def sms_command(text: str) -> SmsCommand | None:
    """What a reply asks for, or None: a STOP keyword wins over START or HELP."""
    keyword = sms_keyword(text)
    if not keyword:
        return None
    for command in (SmsCommand.STOP, SmsCommand.START, SmsCommand.HELP):
        if keyword in SMS_KEYWORDS[command]:
            return command
    return None


# --- Stopping and resuming: the unsubscribe link's scopes and the opt-out suppressions -----

UNSUBSCRIBED = "unsubscribed"
"""The suppression reason of an unsubscribe link's POST (either scope)."""
SMS_STOP = "sms-stop"
"""The suppression reason of a STOP texted back to an alert."""
OPT_OUT_REASONS: frozenset[str] = frozenset({UNSUBSCRIBED, SMS_STOP})
"""The suppressions a supplier made itself, and so may lift by texting START. A hard bounce or
a complaint is never lifted this way: the address refused mail, whoever asks."""
LINK_UNDOES: frozenset[str] = frozenset({UNSUBSCRIBED})
"""What an unsubscribe link's "Undo" may lift: only what a link did. A STOP texted from the
phone is the phone owner's, and only START from that phone undoes it, whoever holds a
forwarded e-mail (carriers expect an opt-out to hold)."""


class StopScope(StrEnum):
    """What an unsubscribe link's POST stops or resumes."""

    CHANNEL = "channel"
    """Only the link's own address on the link's own channel (the e-mail address of the
    e-mail it came in; RFC 8058 one-click means this)."""
    ALL = "all"
    """Every address the supplier is reached at, on every channel: each (channel, address)
    of its alerts in the ledger, and the e-mail and phone of its newest alert."""


class LinkAction(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    RESUBSCRIBE = "resubscribe"


_LINK_SCOPES: Mapping[str, tuple[LinkAction, StopScope]] = {
    "channel": (LinkAction.UNSUBSCRIBE, StopScope.CHANNEL),
    "all": (LinkAction.UNSUBSCRIBE, StopScope.ALL),
    "resubscribe-channel": (LinkAction.RESUBSCRIBE, StopScope.CHANNEL),
    "resubscribe-all": (LinkAction.RESUBSCRIBE, StopScope.ALL),
}
LINK_SCOPES: tuple[str, ...] = tuple(_LINK_SCOPES)
"""The `scope` values an unsubscribe link's POST takes."""


def link_action(scope: str | None) -> tuple[LinkAction, StopScope] | None:
    """What a POST to an unsubscribe link asks for. No scope at all is RFC 8058's one-click
    (`List-Unsubscribe=One-Click`, sent by mail apps): this channel only. None for a scope
    that is not one of `LINK_SCOPES`."""
    if scope is None:
        return LinkAction.UNSUBSCRIBE, StopScope.CHANNEL
    return _LINK_SCOPES.get(scope)


def every_address(
    link: tuple[str, str],
    ledger: Sequence[tuple[str, str]],
    newest_email: str | None,
    newest_phone: str | None,
) -> list[tuple[str, str]]:
    """The (channel, address) pairs "all alerts" stops: the link's own first, then every pair
    of the supplier's alerts in the ledger, then the e-mail and phone of its newest alert (a
    phone it registered may have had no text yet: digest suppliers get none). One pair per
    channel and address, compared as suppressions compare them (ignoring case)."""
    candidates = [link, *ledger]
    if newest_email:
        candidates.append((ChannelName.EMAIL.value, newest_email))
    if newest_phone:
        candidates.append((ChannelName.SMS.value, newest_phone))
    seen: set[tuple[str, str]] = set()
    pairs = []
    for channel, address in candidates:
        key = (str(channel), address.lower())
        if key not in seen:
            seen.add(key)
            pairs.append((str(channel), address))
    return pairs
