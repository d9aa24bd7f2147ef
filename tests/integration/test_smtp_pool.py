"""Alerts share a few open SMTP connections instead of opening one per message."""

from __future__ import annotations

import httpx
import pytest

from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries, settled
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

SUPPLIERS = 12


async def test_a_burst_of_alerts_reuses_pooled_smtp_connections(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    suppliers = [
        await register(
            http, platform, unspsc_codes=["58101500"], email=f"{unique('pool')}@example.org"
        )
        for _ in range(SUPPLIERS)
    ]
    sessions_before = mail_catcher.sessions

    await publish(Agency(http, platform, code, key), unspsc_codes=["58101501"])
    for supplier in suppliers:
        supplier_id: str = supplier["id"]
        await eventually(
            lambda: deliveries(http, platform, supplier_id),  # noqa: B023 - awaited at once
            until=lambda r: settled(r, 1) and r[0]["state"] == "sent",
        )

    opened = mail_catcher.sessions - sessions_before
    assert 1 <= opened <= platform.notify_settings().smtp_pool_size < SUPPLIERS
