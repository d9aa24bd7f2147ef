"""A small client for the notices API, so lifecycle tests read as the agency's story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope
from tests.support.eventually import eventually
from tests.support.kafka_reader import Seen, read_until
from tests.support.platform import Platform
from tests.support.walkthrough import a_notice


def in_days(days: float, offset_hours: int = 1) -> str:
    """A deadline `days` from now, written as the agency would: local time and its offset."""
    local = datetime.now(UTC) + timedelta(days=days, hours=offset_hours)
    sign = "+" if offset_hours >= 0 else "-"
    return f"{local:%Y-%m-%dT%H:%M:%S}{sign}{abs(offset_hours):02d}:00"


class Agency:
    def __init__(self, http: httpx.AsyncClient, platform: Platform, code: str, key: str) -> None:
        assert platform.notices is not None
        self.http = http
        self.platform = platform
        self.code = code
        self.key = key
        self.base = f"{platform.notices.url}/v1/notices"

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def publish(self, notice: dict[str, Any], key: str | None = None) -> httpx.Response:
        return await self.http.post(self.base, json=notice, headers=self.headers(key))

    async def amend(
        self, notice_id: str, body: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        return await self.http.post(
            f"{self.base}/{notice_id}/amendments", json=body, headers=self.headers(key)
        )

    async def cancel(self, notice_id: str, reason: str) -> httpx.Response:
        return await self.http.post(
            f"{self.base}/{notice_id}/cancellation", json={"reason": reason}, headers=self.headers()
        )

    async def award(self, notice_id: str, **overrides: Any) -> httpx.Response:
        body = {
            "supplier_name": "Sahel Medical Supplies SARL",
            "supplier_country": "SN",
            "amount": "125000.50",
            "currency": "USD",
            # Awarded today: an award is never dated in the future.
            "date": datetime.now(UTC).date().isoformat(),
            **overrides,
        }
        return await self.http.post(
            f"{self.base}/{notice_id}/award", json=body, headers=self.headers()
        )

    async def get(self, notice_id: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.base}/{notice_id}")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


async def tender_events(platform: Platform, tender_id: str, count: int) -> list[Seen]:
    """The first `count` events published for one tender, in the order Kafka holds them."""
    return await read_until(
        platform.kafka,
        f"{platform.topic_prefix}{topics.TENDERS}",
        lambda seen: len(seen) >= count,
        keep=lambda s: s.key == tender_id.encode(),
    )


async def published(agency: Agency, **overrides: Any) -> dict[str, Any]:
    response = await agency.publish(a_notice(**{"deadline": in_days(10), **overrides}))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def closed(agency: Agency, platform: Platform) -> dict[str, Any]:
    """A notice whose deadline has passed on the platform's clock, closed by the closer."""
    notice = await published(agency, deadline=in_days(1))
    platform.clock.advance(timedelta(days=2))
    try:
        return await eventually(
            lambda: agency.get(notice["id"]), until=lambda n: n["status"] == "closed"
        )
    finally:
        platform.clock.advance(timedelta(days=-2))


async def publish_raw(platform: Platform, value: bytes, key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(
            f"{platform.topic_prefix}{topics.NOTICE_COMMANDS}", value, key=key
        )
    finally:
        await producer.stop()


def command(type_: str, data: dict[str, Any]) -> bytes:
    envelope = Envelope[dict[str, Any]](type=type_, source="agency-erp", subject="s", data=data)
    return envelope.model_dump_json().encode()
