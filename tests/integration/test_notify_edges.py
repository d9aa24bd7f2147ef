"""Notify's SMS status callbacks over the real platform: one signed by the provider the URL
names moves a real ledger row. The refusals (unsigned, forged, replayed, a control character)
and the deliveries list's 422s need no database: they are in
`services/notify/tests/test_api.py`, in process.

The delivery is a ledger row written with SQL in state 'sent', as the worker leaves it once a
provider took the message. (`test_sms` shows the stub's own signed callbacks end deliveries
`delivered`.)
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tenderwire_shared.envelope import new_event_id
from tests.support.platform import Platform
from tests.support.sms_callbacks import post_status

pytestmark = pytest.mark.integration

DELIVERED = {"MessageSid": "SMforged", "MessageStatus": "delivered"}


async def a_sent_sms(platform: Platform) -> str:
    delivery_id = new_event_id()
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        await conn.execute(
            "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel, address,"
            " language, timezone, match, state, attempts, provider_ref)"
            " VALUES ($1, $2, $3, 1, 'new', 'sms', '+221770001234', 'fr', 'Africa/Dakar', '{}',"
            " 'sent', 1, 'primary:SMsent')",
            delivery_id,
            new_event_id(),
            new_event_id(),
        )
    finally:
        await conn.close()
    return delivery_id


async def ledger_row(platform: Platform, delivery_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        row = await conn.fetchrow(
            "SELECT state, last_error, updated_at FROM deliveries WHERE id = $1", delivery_id
        )
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


def primary(platform: Platform) -> Any:
    return platform.notify_settings().sms_providers[0]


async def test_a_callback_signed_by_its_provider_is_applied(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notify is not None
    delivery_id = await a_sent_sms(platform)

    response = await post_status(
        http, platform.notify.url, primary(platform), delivery_id, DELIVERED
    )

    assert response.status_code == 204
    assert (await ledger_row(platform, delivery_id))["state"] == "delivered"
