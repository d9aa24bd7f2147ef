"""Daily digests on a controllable clock: nothing before the supplier's local hour, then one
e-mail with every alert since the last digest, each alert in exactly one digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, seen_by_matching, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries
from tests.support.platform import Platform
from tests.support.walkthrough import mail_to

pytestmark = pytest.mark.integration


async def test_alerts_wait_for_the_local_digest_hour_and_leave_together_once(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email = f"{unique('digest')}@example.org"
    supplier = await register(
        http,
        platform,
        unspsc_codes=["53101500"],
        email=email,
        language="es",
        timezone="America/Lima",
        delivery="daily_digest",
        digest_hour=7,
    )
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    # 04:00 in Lima (UTC-5) tomorrow: three hours before the digest hour.
    platform.clock.jump_to(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=UTC))
    try:
        first = await publish(agency, unspsc_codes=["53101501"])
        second = await publish(agency, unspsc_codes=["53101502"])
        await seen_by_matching(platform, second["id"], 1)

        async def rows() -> list[Any]:
            return await deliveries(http, platform, supplier["id"])

        waiting = await eventually(rows, until=lambda r: len(r) == 2)
        assert {r["state"] for r in waiting} == {"batched"}
        assert await mail_to(http, mail_catcher, email) == []

        platform.clock.advance(timedelta(hours=3, minutes=30))  # 07:30 in Lima
        digests = await eventually(
            lambda: mail_to(http, mail_catcher, email), until=lambda m: len(m) == 1
        )
        third = await publish(agency, unspsc_codes=["53101503"])
        await seen_by_matching(platform, third["id"], 1)
        after_first = await eventually(
            rows, until=lambda r: len(r) == 3 and {x["state"] for x in r} == {"sent", "batched"}
        )
        assert await mail_to(http, mail_catcher, email) == digests  # today's has gone already

        platform.clock.advance(timedelta(days=1))
        both = await eventually(
            lambda: mail_to(http, mail_catcher, email), until=lambda m: len(m) == 2
        )
    finally:
        platform.clock.reset()

    assert digests[0]["subject"].startswith("[Resumen diario] 2 alertas")
    text = digests[0]["text"]
    assert first["reference"] in text
    assert second["reference"] in text
    assert third["reference"] not in text
    assert [r["state"] for r in after_first].count("batched") == 1
    assert both[1]["subject"].startswith("[Resumen diario] 1 alerta ")
    assert third["reference"] in both[1]["text"]
    final = await deliveries(http, platform, supplier["id"])
    assert {r["state"] for r in final} == {"sent"}
