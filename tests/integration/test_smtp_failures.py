"""SMTP failures over real SMTP: a 4xx is retried until it succeeds; a 5xx for the mailbox
fails the alert and suppresses the address, so later alerts are not even attempted."""

from __future__ import annotations

import httpx
import pytest

from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries, settled
from tests.support.platform import Platform
from tests.support.walkthrough import mail_to

pytestmark = pytest.mark.integration


async def test_a_temporary_refusal_is_retried_and_then_delivered_once(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    email = f"{unique('tempfail-once')}@example.org"
    supplier = await register(http, platform, unspsc_codes=["50101700"], email=email)
    await publish(Agency(http, platform, code, key), unspsc_codes=["50101716"])

    rows = await eventually(
        lambda: deliveries(http, platform, supplier["id"]), until=lambda r: settled(r, 1)
    )

    assert [(r["state"], r["attempts"], r["last_error"]) for r in rows] == [("sent", 2, None)]
    assert len(await mail_to(http, mail_catcher, email)) == 1


async def test_a_hard_bounce_fails_the_alert_and_suppresses_the_address(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email = f"{unique('bounce')}@example.org"
    supplier = await register(http, platform, unspsc_codes=["50111500"], email=email)

    await publish(agency, unspsc_codes=["50111513"])
    first = await eventually(
        lambda: deliveries(http, platform, supplier["id"]), until=lambda r: settled(r, 1)
    )
    await publish(agency, unspsc_codes=["50111514"])
    both = await eventually(
        lambda: deliveries(http, platform, supplier["id"]), until=lambda r: settled(r, 2)
    )

    assert first[0]["state"] == "failed"
    assert first[0]["attempts"] == 1  # a permanent refusal is not retried
    assert first[0]["last_error"].startswith("SMTP 550")
    assert both[1]["state"] == "suppressed"
    assert both[1]["attempts"] == 1  # claimed once, then stopped before SMTP
    assert await mail_to(http, mail_catcher, email) == []
