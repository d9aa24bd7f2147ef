"""A supplier that deactivates gets nothing more, not even the alerts already waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


async def test_waiting_alerts_of_a_deactivated_supplier_are_dropped(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.matching is not None
    code, key = await platform.new_agency()
    supplier = await register(
        http,
        platform,
        unspsc_codes=["57101500"],
        email=f"{unique('leaver')}@example.org",
        timezone="UTC",
        delivery="daily_digest",
        digest_hour=12,
    )
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    # 01:00 UTC: the digest hour (12:00) is eleven hours away, whatever the real time.
    platform.clock.jump_to(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 1, tzinfo=UTC))
    try:
        await publish(Agency(http, platform, code, key), unspsc_codes=["57101501"])
        waiting = await eventually(
            lambda: deliveries(http, platform, supplier["id"]),
            until=lambda r: [x["state"] for x in r] == ["batched"],
        )

        response = await http.delete(
            f"{platform.matching.url}/v1/suppliers/{supplier['id']}",
            headers={"Authorization": f"Bearer {supplier['token']}"},
        )
        assert response.status_code == 204

        dropped = await eventually(
            lambda: deliveries(http, platform, supplier["id"]),
            until=lambda r: [x["state"] for x in r] == ["suppressed"],
        )
    finally:
        platform.clock.reset()
    assert dropped[0]["id"] == waiting[0]["id"]
    assert dropped[0]["last_error"] == "supplier deactivated"
