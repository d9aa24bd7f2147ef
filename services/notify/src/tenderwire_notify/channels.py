"""What every delivery channel (e-mail, SMS) promises the delivery worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from tenderwire_shared.events.accounts import AccountMessage
from tenderwire_shared.events.matches import MatchCreated


class TransientSendError(Exception):
    """The provider may accept the same message later (SMTP 4xx, HTTP 429/5xx, timeouts).

    `accepted`: the addresses that did take the message before this failure (a supplier with
    several e-mail contacts), which the retry leaves out."""

    def __init__(self, message: str, *, accepted: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.accepted = accepted


class RelayUnavailableError(TransientSendError):
    """The relay or provider itself is failing (refused connection, timeout, 421, HTTP 5xx),
    not this one message. It feeds the channel's circuit breaker: once the circuit is open the
    waiting rows are neither tried nor charged an attempt; only the probes are."""


class PermanentSendError(Exception):
    """The provider refused the message for good; retrying cannot help.

    `hard_bounce` means the address itself was refused: it should get nothing more.
    """

    def __init__(self, message: str, *, hard_bounce: bool = False) -> None:
        super().__init__(message)
        self.hard_bounce = hard_bounce


@dataclass(frozen=True)
class DigestContent:
    day: date
    entries: tuple[MatchCreated, ...]


@dataclass(frozen=True)
class Job:
    """One message to one address: an alert (a ledger row) or a daily digest.

    `content_key` names everything that is the same for every recipient of the same words
    (tender, revision, kind, changes, language, time zone): channels render once per key and
    fill in only the recipient's address, name, Message-ID and unsubscribe link.
    """

    id: str
    channel: str
    supplier_id: str
    address: str
    language: str
    timezone: str
    recipient_name: str
    content_key: str
    attempt: int
    match: MatchCreated | None = None
    digest: DigestContent | None = None
    tender_id: str | None = None
    correlation_id: str | None = None
    retry_since: datetime | None = None
    """The retry horizon counts from here."""
    account: AccountMessage | None = None
    """An account message (verification or sign-in) instead of an alert."""
    expires_at: datetime | None = None
    """An account message is not sent after this."""
    also: tuple[str, ...] = ()
    """The supplier's other e-mail addresses this alert or digest still goes to."""
    own_address_sent: bool = False
    """`address` took it on an earlier try; only `also` is left."""


@dataclass(frozen=True)
class Sent:
    """What a channel reports of a send to several addresses."""

    reference: str | None
    copies: tuple[str, ...] = ()
    """Every address that took it."""
    refused: tuple[str, ...] = ()
    """Other addresses of the supplier that refused it for good (hard bounces)."""


class Channel(Protocol):
    @property
    def name(self) -> str:
        """`domain.ChannelName`: "email" or "sms"."""
        ...

    lanes: int
    """How many sends this channel runs at once (the SMTP pool size, for e-mail)."""

    def paused(self, now: datetime) -> bool:
        """True while every relay or provider of the channel has its circuit open."""
        ...

    async def send(self, job: Job) -> str | Sent | None:
        """Send it; return the provider's reference for the message, if it gives one (in a
        `Sent` when it went to several addresses).

        Raises PermanentSendError, TransientSendError or RelayUnavailableError."""
        ...
