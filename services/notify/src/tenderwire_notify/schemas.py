"""What crosses notify's HTTP edge: the operators' view of a delivery, and the subscriber an
unsubscribe link names (signed, so a link cannot be forged or altered)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, Self

import asyncpg
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tenderwire_notify.settings import NotifySettings

if TYPE_CHECKING:
    from tenderwire_notify.services import ChannelStatus

# An address as the ledger and suppressions compare them: printable, no spaces, one "@".
EMAIL_PATTERN = r"^[^\s@\x00-\x1f\x7f]{1,64}@[^\s@\x00-\x1f\x7f]{1,253}$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
EmailAddress = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)]
PhoneNumber = Annotated[str, StringConstraints(max_length=16, pattern=E164_PATTERN)]


class DeliveryView(BaseModel):
    id: str
    supplier_id: str
    tender_id: str
    revision: int
    kind: str
    channel: str
    state: str
    attempts: int
    last_error: str | None
    provider_ref: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


class AlertView(BaseModel):
    """One of a supplier's alerts on one channel, as its portal lists it."""

    id: str
    tender_id: str
    revision: int
    tender_title: str | None
    kind: str
    channel: str
    state: str
    reason: str | None = Field(description="Why it was not sent (suppressed, failed)")
    digest: bool = Field(description="It went, or goes, in a daily digest")
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> AlertView:
        return cls(
            id=row["id"],
            tender_id=row["tender_id"],
            revision=row["revision"],
            tender_title=row["tender_title"],
            kind=row["kind"],
            channel=row["channel"],
            state=row["state"],
            reason=row["last_error"] if row["state"] in ("suppressed", "failed") else None,
            digest=row["digest_id"] is not None or row["state"] == "batched",
            created_at=row["created_at"],
            sent_at=row["sent_at"],
        )


class ChannelStatusView(BaseModel):
    channel: str
    address: str
    stopped: bool
    reason: str | None = Field(
        description="'unsubscribed', 'sms-stop', or the provider's refusal (a bounce)"
    )

    @classmethod
    def of(cls, status: ChannelStatus) -> ChannelStatusView:
        return cls(
            channel=status.channel,
            address=status.address,
            stopped=status.stopped,
            reason=status.reason,
        )


class ChannelAddress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "sms"]
    address: Annotated[str, StringConstraints(min_length=1, max_length=254)]

    @model_validator(mode="after")
    def _address_fits_its_channel(self) -> Self:
        pattern = EMAIL_PATTERN if self.channel == "email" else E164_PATTERN
        if not re.match(pattern, self.address):
            what = "an e-mail address" if self.channel == "email" else "an E.164 phone number"
            raise ValueError(f"address is not {what}")
        return self


class ChannelsChange(BaseModel):
    """Stop or resume alerts to some of a supplier's addresses."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["email", "sms", "all"]
    subscribed: bool
    addresses: list[ChannelAddress] = Field(min_length=1, max_length=20)


class Subscriber(BaseModel):
    """Who an unsubscribe link stops alerts to: one address of one supplier on one channel,
    and the language its pages speak (links signed before there was one follow the
    browser's Accept-Language)."""

    supplier_id: str
    channel: str
    address: str
    language: str | None = None


_SALT = "tenderwire-unsubscribe"


def _serializer(settings: NotifySettings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.unsubscribe_secret.get_secret_value(), salt=_SALT)


def token_for(settings: NotifySettings, subscriber: Subscriber) -> str:
    return str(_serializer(settings).dumps(subscriber.model_dump(exclude_none=True)))


def link_for(settings: NotifySettings, subscriber: Subscriber) -> str:
    return f"{settings.public_base_url}/v1/unsubscribe/{token_for(settings, subscriber)}"


def subscriber_from(settings: NotifySettings, token: str) -> Subscriber | None:
    """The subscriber a token names; None for a token we did not sign (altered or forged)."""
    try:
        return Subscriber.model_validate(_serializer(settings).loads(token))
    except (BadSignature, ValueError):
        return None
