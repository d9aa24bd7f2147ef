"""A supplier hears about a tender's whole life: published, amended (with what changed),
cancelled; one e-mail each, over real Kafka, PostgreSQL and SMTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency, in_days
from tests.support.platform import Platform
from tests.support.walkthrough import mail_to

pytestmark = pytest.mark.integration


async def test_a_supplier_gets_the_new_tender_its_amendment_and_its_cancellation(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email = f"{unique('lifecycle')}@example.org"
    await register(http, platform, unspsc_codes=["49101600"], email=email, timezone="Africa/Lagos")
    notice = await publish(agency, unspsc_codes=["49101602"], deadline=in_days(10))

    async def subjects() -> list[str]:
        messages: list[Any] = await mail_to(http, mail_catcher, email)
        return [m["subject"].split("]")[0] + "]" for m in messages]

    assert await eventually(subjects, until=lambda s: len(s) == 1) == ["[New tender]"]
    amended = await agency.amend(
        notice["id"], {"reason": "More time for bidders", "deadline": in_days(17)}
    )
    assert amended.status_code == 200, amended.text
    await eventually(subjects, until=lambda s: len(s) == 2)
    assert (await agency.cancel(notice["id"], "Requirement withdrawn")).status_code == 200

    assert await eventually(subjects, until=lambda s: len(s) == 3) == [
        "[New tender]",
        "[Amended]",
        "[Cancelled]",
    ]
    messages = await mail_to(http, mail_catcher, email)
    assert "Reason: More time for bidders" in messages[1]["text"]
    assert "Deadline: was: " in messages[1]["text"]
    assert "Reason: Requirement withdrawn" in messages[2]["text"]
    assert len({m["message_id"] for m in messages}) == 3
