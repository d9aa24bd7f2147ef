"""Replaying the whole match topic from its first offset sends nothing a second time."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries, settled
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


async def test_a_replay_of_the_match_topic_from_the_start_sends_no_duplicates(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    suppliers = [
        await register(
            http, platform, unspsc_codes=["54101500"], email=f"{unique('replay')}@example.org"
        )
        for _ in range(3)
    ]
    for code_ in ("54101501", "54101502"):
        await publish(agency, unspsc_codes=[code_])
    for supplier in suppliers:
        supplier_id: str = supplier["id"]
        await eventually(
            lambda: deliveries(http, platform, supplier_id),  # noqa: B023 - awaited at once
            until=lambda r: settled(r, 2),
        )
    caught_before = len(mail_catcher.store.all())

    await platform.restart_notify_from_earliest()
    replayed = await platform.wait_for_notify_to_catch_up()

    assert replayed >= 6  # it really read every match again
    after: list[Any] = []
    for supplier in suppliers:
        after += await deliveries(http, platform, supplier["id"])
    assert len(after) == 6
    assert {r["state"] for r in after} == {"sent"}
    assert len(mail_catcher.store.all()) == caught_before
