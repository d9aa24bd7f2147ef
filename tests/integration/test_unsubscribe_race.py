"""The unsubscribe race: alerts are being sent when the supplier unsubscribes. Once the
unsubscribe has committed (its response is back), no further e-mail reaches the address."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

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

TENDERS = 25


async def test_nothing_is_sent_after_the_unsubscribe_has_committed(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email = f"{unique('racing')}@example.org"
    supplier = await register(http, platform, unspsc_codes=["56101500"], email=email)
    await publish(agency, unspsc_codes=["56101501"])
    first = (await eventually(lambda: mail_to(http, mail_catcher, email), until=bool))[0]
    match = re.fullmatch(r"<(http://[^>]+)>", first["headers"]["List-Unsubscribe"])
    assert match is not None

    burst = asyncio.gather(
        *(publish(agency, unspsc_codes=[f"561015{n:02d}"]) for n in range(2, 2 + TENDERS))
    )
    await eventually(lambda: mail_to(http, mail_catcher, email), until=lambda m: len(m) >= 3)
    response = await http.post(match.group(1), data={"List-Unsubscribe": "One-Click"})
    committed = datetime.now().astimezone()
    assert response.status_code == 200
    await burst

    rows = await eventually(
        lambda: deliveries(http, platform, supplier["id"]),
        until=lambda r: settled(r, 1 + TENDERS),
    )
    mails = await mail_to(http, mail_catcher, email)
    late = [m for m in mails if datetime.fromisoformat(m["received_at"]) > committed]
    assert late == []
    states = [r["state"] for r in rows]
    assert states.count("sent") == len(mails)
    assert states.count("suppressed") == len(rows) - len(mails)
