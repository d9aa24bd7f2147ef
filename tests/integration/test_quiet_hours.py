"""Quiet hours across a daylight-saving change, on the platform's clock: the alert waits for
07:00 local time the next morning, by the zone's new offset, and is then sent once."""

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


async def test_an_alert_in_quiet_hours_waits_for_their_end_across_a_dst_change(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    email = f"{unique('quiet')}@example.org"
    supplier = await register(
        http,
        platform,
        country="CL",
        unspsc_codes=["55101500"],
        email=email,
        timezone="America/Santiago",
        quiet_hours={"start": "22:00", "end": "07:00"},
    )
    assert supplier["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    control = await register(http, platform, country="CL", unspsc_codes=["55111500"])
    # 23:30 on 3 April 2027 in Santiago (UTC-3); summer time ends at midnight (UTC-4).
    platform.clock.jump_to(datetime(2027, 4, 4, 2, 30, tzinfo=UTC))
    try:
        notice = await publish(
            Agency(http, platform, code, key),
            unspsc_codes=["55101501"],
            deadline="2027-06-01T12:00:00+00:00",
        )
        await seen_by_matching(platform, notice["id"], 1)

        async def rows() -> list[Any]:
            return await deliveries(http, platform, supplier["id"])

        waiting = await eventually(rows, until=lambda r: len(r) == 1)
        assert waiting[0]["state"] == "queued"
        # 07:00 under the new offset (UTC-4), not 10:00 UTC under the evening's UTC-3.
        assert waiting[0]["next_attempt_at"] == "2027-04-04T11:00:00Z"

        platform.clock.jump_to(datetime(2027, 4, 4, 10, 30, tzinfo=UTC))  # 06:30 local
        # An alert for a supplier without quiet hours, sent now, proves the worker has run
        # since the jump; the quiet supplier's alert must still be waiting.
        await publish(
            Agency(http, platform, code, key),
            unspsc_codes=["55111501"],
            deadline="2027-06-01T12:00:00+00:00",
        )
        await eventually(
            lambda: deliveries(http, platform, control["id"]),
            until=lambda r: len(r) == 1 and r[0]["state"] == "sent",
        )
        still = await rows()
        assert still[0]["state"] == "queued"
        assert await mail_to(http, mail_catcher, email) == []

        platform.clock.advance(timedelta(minutes=31))  # 07:01 local
        sent = await eventually(rows, until=lambda r: r[0]["state"] == "sent")
    finally:
        platform.clock.reset()

    assert sent[0]["attempts"] == 1
    assert len(await mail_to(http, mail_catcher, email)) == 1
