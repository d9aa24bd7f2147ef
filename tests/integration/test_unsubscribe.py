"""One-click unsubscribe (RFC 8058) over real SMTP and HTTP: the headers are there, a GET only
asks, the POST stops every further alert."""

from __future__ import annotations

import re
from typing import Any

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


async def test_one_click_unsubscribe_stops_alerts_and_a_get_alone_does_not(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email = f"{unique('leaving')}@example.org"
    supplier = await register(http, platform, unspsc_codes=["51101500"], email=email)

    async def mails() -> list[Any]:
        return await mail_to(http, mail_catcher, email)

    await publish(agency, unspsc_codes=["51101501"])
    first = (await eventually(mails, until=lambda m: len(m) == 1))[0]
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.fullmatch(r"<(http://[^>]+)>", first["headers"]["List-Unsubscribe"])
    assert match is not None
    link = match.group(1)

    page = await http.get(link)
    assert page.status_code == 200
    assert '<form method="post">' in page.text
    await publish(agency, unspsc_codes=["51101502"])
    await eventually(mails, until=lambda m: len(m) == 2)  # the GET unsubscribed nobody

    done = await http.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "No more tender alerts will be sent to" in done.text
    await publish(agency, unspsc_codes=["51101503"])
    rows = await eventually(
        lambda: deliveries(http, platform, supplier["id"]), until=lambda r: settled(r, 3)
    )

    assert [r["state"] for r in rows] == ["sent", "sent", "suppressed"]
    assert len(await mails()) == 2
    forged = await http.post(link[:-3] + "xyz")
    assert forged.status_code == 404
