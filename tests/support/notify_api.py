"""Reading notify's delivery ledger the way an operator does: over its HTTP API; and writing
notify's events onto Kafka as matching would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.accounts import (
    ACCOUNT_MESSAGE,
    AccountChannel,
    AccountMessage,
    AccountPurpose,
)
from tenderwire_shared.events.matches import MatchCreated
from tests.support.pipeline_events import new_tender_alert
from tests.support.platform import OPERATOR_HEADERS, Platform


async def deliveries(http: httpx.AsyncClient, platform: Platform, supplier_id: str) -> list[Any]:
    assert platform.notify is not None
    response = await http.get(
        f"{platform.notify.url}/v1/deliveries",
        params={"supplier_id": supplier_id},
        headers=OPERATOR_HEADERS,
    )
    response.raise_for_status()
    found: list[Any] = response.json()
    return found


def settled(rows: list[Any], count: int) -> bool:
    return len(rows) == count and all(r["state"] not in ("queued", "sending") for r in rows)


async def publish_to_notify(
    platform: Platform, topic: str, events: Sequence[Envelope[Any]]
) -> None:
    """Events written straight onto one of notify's topics, keyed by their subject (the
    supplier), as matching writes them."""
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        for event in events:
            await producer.send(
                f"{platform.topic_prefix}{topic}",
                event.model_dump_json().encode(),
                key=event.subject.encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()


def account_message(
    supplier_id: str,
    address: str,
    *,
    purpose: AccountPurpose = AccountPurpose.VERIFY_EMAIL,
    language: str = "en",
    timezone: str = "UTC",
    expires_in: timedelta = timedelta(hours=1),
    message_id: str | None = None,
    legal_name: str | None = None,
) -> Envelope[AccountMessage]:
    """An account message as matching's portal writes it: a link by e-mail, a code by SMS."""
    by_sms = purpose is AccountPurpose.VERIFY_PHONE
    return Envelope[AccountMessage](
        type=ACCOUNT_MESSAGE,
        source="tests",
        subject=supplier_id,
        data=AccountMessage(
            message_id=message_id or new_event_id(),
            supplier_id=supplier_id,
            purpose=purpose,
            channel=AccountChannel.SMS if by_sms else AccountChannel.EMAIL,
            address=address,
            legal_name=legal_name or f"Supplier {supplier_id}",
            language=language,
            timezone=timezone,
            link=None if by_sms else f"https://portal.example.org/verify?token={new_event_id()}",
            code="482913" if by_sms else None,
            expires_at=datetime.now(UTC) + expires_in,
        ),
    )


def alert_for(
    supplier_id: str, email: str, tender_id: str, **recipient: Any
) -> Envelope[MatchCreated]:
    """A new-tender alert whose recipient carries the fields given (verification, other
    contacts, a pause, a phone...)."""
    alert = new_tender_alert(supplier_id, email, tender_id)
    changed = alert.data.recipient.model_copy(update=recipient)
    return alert.model_copy(update={"data": alert.data.model_copy(update={"recipient": changed})})


def a_zone_at_11() -> str:
    """A zone where it is now about 11:00: a digest at 23:00 there is not due today."""
    offset = 11 - datetime.now(UTC).hour
    offset = offset - 24 if offset > 12 else offset + 24 if offset < -12 else offset
    # POSIX signs: Etc/GMT-3 is three hours ahead of UTC.
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
