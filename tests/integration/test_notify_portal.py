"""The portal's views of notify over the real stack, as matching calls them with the operators'
token: a supplier's latest alerts with why one was not sent, which of its addresses are
stopped and why, and the switch that stops and resumes them as the unsubscribe link does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tenderwire_shared import topics
from tenderwire_shared.events.accounts import AccountPurpose
from tenderwire_stack.mailcatcher import CaughtMessage, MailCatcher
from tests.support.eventually import eventually
from tests.support.matching_helpers import unique
from tests.support.notify_api import (
    account_message,
    alert_for,
    deliveries,
    publish_to_notify,
    settled,
)
from tests.support.platform import OPERATOR_HEADERS, Platform

pytestmark = pytest.mark.integration


async def arrived(catcher: MailCatcher, address: str) -> list[CaughtMessage]:
    return [m for m in catcher.store.all() if address in m.recipients]


async def portal(
    http: httpx.AsyncClient, platform: Platform, method: str, path: str, **kwargs: Any
) -> Any:
    assert platform.notify is not None
    response = await http.request(
        method, f"{platform.notify.url}/v1/suppliers{path}", headers=OPERATOR_HEADERS, **kwargs
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_alerts_list_is_newest_first_with_why_one_was_not_sent(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("portal")
    email = f"{supplier_id}@example.org"
    until = datetime.now(UTC) + timedelta(days=2)
    first = alert_for(supplier_id, email, f"tender-{supplier_id}-1")
    paused = alert_for(supplier_id, email, f"tender-{supplier_id}-2", paused_until=until)
    await publish_to_notify(platform, topics.MATCHES, [first])
    await eventually(lambda: deliveries(http, platform, supplier_id), until=lambda r: settled(r, 1))
    await publish_to_notify(platform, topics.MATCHES, [paused])
    await publish_to_notify(
        platform,
        topics.ACCOUNT_MESSAGES,
        [account_message(supplier_id, email, purpose=AccountPurpose.SIGN_IN)],
    )
    await eventually(lambda: deliveries(http, platform, supplier_id), until=lambda r: settled(r, 3))

    alerts = await portal(http, platform, "GET", f"/{supplier_id}/alerts")
    latest = await portal(http, platform, "GET", f"/{supplier_id}/alerts", params={"limit": 1})

    assert [(a["tender_id"], a["state"], a["reason"]) for a in alerts] == [
        (f"tender-{supplier_id}-2", "suppressed", f"paused until {until.isoformat()}"),
        (f"tender-{supplier_id}-1", "sent", None),
    ]
    assert alerts[0]["tender_title"] == "Water pumps"
    assert alerts[1]["sent_at"] is not None
    assert latest == alerts[:1]


async def test_stopping_and_resuming_from_the_portal(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("switch")
    email, bounced = f"{supplier_id}@example.org", f"{supplier_id}-old@example.org"
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        await conn.execute(
            "INSERT INTO suppressions (channel, address, reason)"
            " VALUES ('email', $1, 'SMTP 550 5.1.1 No such mailbox')",
            bounced,
        )
    finally:
        await conn.close()
    addresses = [{"channel": "email", "address": email}, {"channel": "email", "address": bounced}]

    before = await portal(
        http, platform, "GET", f"/{supplier_id}/channels", params=[("email", email)]
    )
    stopped = await portal(
        http,
        platform,
        "POST",
        f"/{supplier_id}/channels",
        json={"scope": "all", "subscribed": False, "addresses": addresses[:1]},
    )
    await publish_to_notify(platform, topics.MATCHES, [alert_for(supplier_id, email, "t-stop")])
    withheld = await eventually(
        lambda: deliveries(http, platform, supplier_id), until=lambda r: settled(r, 1)
    )
    # The supplier asked for this one: an unsubscribe does not stop it.
    await publish_to_notify(
        platform, topics.ACCOUNT_MESSAGES, [account_message(supplier_id, email)]
    )
    await eventually(lambda: arrived(mail_catcher, email), until=lambda m: len(m) == 1)
    resumed = await portal(
        http,
        platform,
        "POST",
        f"/{supplier_id}/channels",
        json={"scope": "email", "subscribed": True, "addresses": addresses},
    )
    await publish_to_notify(platform, topics.MATCHES, [alert_for(supplier_id, email, "t-again")])
    await eventually(lambda: arrived(mail_catcher, email), until=lambda m: len(m) == 2)

    assert before == [{"channel": "email", "address": email, "stopped": False, "reason": None}]
    assert stopped == [
        {"channel": "email", "address": email, "stopped": True, "reason": "unsubscribed"}
    ]
    assert [(r["state"], r["last_error"]) for r in withheld] == [
        ("suppressed", "bounced or unsubscribed")
    ]
    assert resumed == [
        {"channel": "email", "address": email, "stopped": False, "reason": None},
        {
            "channel": "email",
            "address": bounced,
            "stopped": True,
            "reason": "SMTP 550 5.1.1 No such mailbox",
        },
    ]


async def test_stop_all_from_another_contact_s_link_stops_every_contact(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("stopall")
    own, other = f"{supplier_id}@example.org", f"{supplier_id}-buyer@example.org"
    await publish_to_notify(
        platform, topics.MATCHES, [alert_for(supplier_id, own, "t-all", also_email=(other,))]
    )
    [copy] = await eventually(lambda: arrived(mail_catcher, other), until=lambda m: len(m) == 1)
    link = copy.headers["List-Unsubscribe"].strip("<>")

    response = await http.post(link, data={"scope": "all"})
    statuses = await portal(
        http, platform, "GET", f"/{supplier_id}/channels", params=[("email", own), ("email", other)]
    )

    assert response.status_code == 200
    assert [(s["address"], s["stopped"], s["reason"]) for s in statuses] == [
        (own, True, "unsubscribed"),
        (other, True, "unsubscribed"),
    ]
