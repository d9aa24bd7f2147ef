"""What crosses notify's HTTP edge: the operators' view of a delivery, and the subscriber an
unsubscribe link names (signed, so a link cannot be forged or altered)."""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel

from tenderwire_notify.settings import NotifySettings


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
