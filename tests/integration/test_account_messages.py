"""Account messages (verification links and codes, sign-in links) over the real stack: Kafka,
PostgreSQL, the mail catcher and the SMS stub. They go at once, in the supplier's language, to
unverified addresses too, once per message id and never after they expire; alerts go only to
verified contacts, to every other verified e-mail contact, and not while paused."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.accounts import AccountPurpose
from tenderwire_shared.events.matches import Delivery
from tenderwire_shared.events.suppliers import SUPPLIER_UPDATED, SupplierChanged
from tenderwire_stack.mailcatcher import CaughtMessage, MailCatcher
from tenderwire_stack.smsgateway import SmsRecord
from tests.support.eventually import eventually
from tests.support.matching_helpers import unique
from tests.support.notify_api import (
    a_zone_at_11,
    account_message,
    alert_for,
    deliveries,
    publish_to_notify,
    settled,
)
from tests.support.platform import Platform

pytestmark = pytest.mark.integration


def a_phone() -> str:
    return f"+22170{secrets.randbelow(10**7):07d}"


def mail_to(catcher: MailCatcher, address: str) -> list[CaughtMessage]:
    return [m for m in catcher.store.all() if address in m.recipients]


async def arrived(catcher: MailCatcher, address: str) -> list[CaughtMessage]:
    return mail_to(catcher, address)


async def texts_to(platform: Platform, phone: str) -> list[SmsRecord]:
    return [m for m in platform.sms_gateways["primary"].messages if m.to == phone]


async def credentials_kept(platform: Platform, supplier_id: str) -> list[bool]:
    """Per account message of the supplier: does the ledger still hold its link or code?"""
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        rows = await conn.fetch(
            "SELECT match ?| array['link', 'code'] AS kept FROM deliveries"
            " WHERE supplier_id = $1 ORDER BY created_at",
            supplier_id,
        )
    finally:
        await conn.close()
    return [r["kept"] for r in rows]


async def rows_of(http: httpx.AsyncClient, platform: Platform, supplier_id: str) -> list[Any]:
    return await deliveries(http, platform, supplier_id)


@pytest.mark.parametrize(
    ("language", "subject", "ignore", "direction"),
    [
        (
            "fr",
            "Confirmez votre adresse e-mail pour les alertes Tenderwire",
            "ignorez ce message",
            'dir="ltr"',
        ),
        (
            "ar",
            "تأكيد عنوان بريدكم الإلكتروني لتلقّي تنبيهات Tenderwire",
            "فيُرجى تجاهل هذه الرسالة",
            'dir="rtl"',
        ),
    ],
)
async def test_a_verification_link_reaches_an_unverified_address_in_its_language(
    platform: Platform,
    mail_catcher: MailCatcher,
    http: httpx.AsyncClient,
    language: str,
    subject: str,
    ignore: str,
    direction: str,
) -> None:
    supplier_id = unique("verify")
    address = f"{supplier_id}@example.org"
    event = account_message(supplier_id, address, language=language, timezone="Africa/Dakar")
    await publish_to_notify(platform, topics.ACCOUNT_MESSAGES, [event])

    caught = await eventually(lambda: arrived(mail_catcher, address), until=lambda m: len(m) == 1)

    message = caught[0]
    assert event.data.link is not None
    assert message.subject == subject
    assert event.data.link in message.text
    assert f'href="{event.data.link}"' in message.html
    assert ignore in message.text
    assert ignore in message.html
    assert direction in message.html
    # Transactional: no unsubscribe footer or header, and nothing that tracks its reading.
    assert "List-Unsubscribe" not in message.headers
    assert "/v1/unsubscribe/" not in message.text + message.html
    assert "<img" not in message.html
    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 1)
    )
    assert [(r["kind"], r["channel"], r["state"]) for r in rows] == [
        ("verify_email", "email", "sent")
    ]
    assert await credentials_kept(platform, supplier_id) == [False]


async def test_a_phone_code_arrives_by_sms(platform: Platform, http: httpx.AsyncClient) -> None:
    supplier_id = unique("phone")
    phone = a_phone()
    event = account_message(supplier_id, phone, purpose=AccountPurpose.VERIFY_PHONE, language="fr")
    await publish_to_notify(platform, topics.ACCOUNT_MESSAGES, [event])

    texts = await eventually(lambda: texts_to(platform, phone), until=lambda m: len(m) == 1)

    assert texts[0].body.startswith("Code Tenderwire : 482913.")
    assert "ignorez ce message" in texts[0].body


async def test_a_redelivered_message_sends_once(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("again")
    first = account_message(
        supplier_id, f"{supplier_id}@example.org", purpose=AccountPurpose.SIGN_IN
    )
    # The same message again, in a new envelope (a producer's retry, a replay), then another.
    again = first.model_copy(update={"id": new_event_id()})
    later_address = f"{supplier_id}-later@example.org"
    later = account_message(supplier_id, later_address, purpose=AccountPurpose.SIGN_IN)
    await publish_to_notify(platform, topics.ACCOUNT_MESSAGES, [first, again, later])

    # One partition per supplier: once the later message is in, the copy has been read.
    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 2)
    )
    await eventually(lambda: arrived(mail_catcher, later_address), until=lambda m: len(m) == 1)

    assert [r["state"] for r in rows] == ["sent", "sent"]
    assert len(mail_to(mail_catcher, f"{supplier_id}@example.org")) == 1


async def test_an_expired_message_is_recorded_and_never_sent(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("expired")
    address = f"{supplier_id}@example.org"
    stale = account_message(supplier_id, address, expires_in=timedelta(minutes=-1))
    await publish_to_notify(platform, topics.ACCOUNT_MESSAGES, [stale])

    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 1)
    )

    assert rows[0]["state"] == "failed"
    assert rows[0]["last_error"].startswith("expired")
    assert mail_to(mail_catcher, address) == []
    assert await credentials_kept(platform, supplier_id) == [False]


async def test_unverified_contacts_get_no_alert_but_their_verification_message(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("unverified")
    address = f"{supplier_id}@example.org"
    phone = a_phone()
    alert = alert_for(
        supplier_id,
        address,
        f"tender-{supplier_id}",
        email_verified=False,
        phone=phone,
        phone_verified=False,
    )
    await publish_to_notify(platform, topics.MATCHES, [alert])
    withheld = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 2)
    )
    await publish_to_notify(
        platform, topics.ACCOUNT_MESSAGES, [account_message(supplier_id, address)]
    )

    caught = await eventually(lambda: arrived(mail_catcher, address), until=lambda m: len(m) == 1)

    assert sorted((r["channel"], r["state"], r["last_error"]) for r in withheld) == [
        ("email", "suppressed", "address not verified"),
        ("sms", "suppressed", "address not verified"),
    ]
    assert caught[0].subject == "Confirm your e-mail address for Tenderwire alerts"
    assert not [m for m in platform.sms_gateways["primary"].messages if m.to == phone]
    assert not [m for m in platform.sms_gateways["secondary"].messages if m.to == phone]


async def test_every_other_verified_contact_gets_the_alert_too(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("contacts")
    own, other = f"{supplier_id}@example.org", f"{supplier_id}-buyer@example.org"
    alert = alert_for(supplier_id, own, f"tender-{supplier_id}", also_email=(other,))
    await publish_to_notify(platform, topics.MATCHES, [alert])

    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 1)
    )
    await eventually(lambda: arrived(mail_catcher, other), until=lambda m: len(m) == 1)

    assert rows[0]["state"] == "sent"
    to_own, to_other = mail_to(mail_catcher, own), mail_to(mail_catcher, other)
    assert len(to_own) == 1
    assert len(to_other) == 1
    assert to_own[0].subject == to_other[0].subject
    assert to_own[0].message_id != to_other[0].message_id
    # Each address's own unsubscribe link: the other contact's stops only its own mail.
    assert to_own[0].headers["List-Unsubscribe"] != to_other[0].headers["List-Unsubscribe"]
    # The notice opens in the supplier's language and zone.
    assert "https://example.org/t?lang=en&tz=UTC" in to_own[0].text


async def test_a_paused_supplier_gets_nothing_until_the_pause_ends(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("paused")
    address = f"{supplier_id}@example.org"
    until = datetime.now(UTC) + timedelta(days=7)
    paused = alert_for(supplier_id, address, f"tender-{supplier_id}-1", paused_until=until)
    resumed = alert_for(
        supplier_id, address, f"tender-{supplier_id}-2", paused_until=datetime.now(UTC)
    )
    await publish_to_notify(platform, topics.MATCHES, [paused, resumed])

    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 2)
    )
    caught = await eventually(lambda: arrived(mail_catcher, address), until=lambda m: len(m) == 1)

    by_tender = {r["tender_id"]: r for r in rows}
    withheld = by_tender[f"tender-{supplier_id}-1"]
    assert withheld["state"] == "suppressed"
    assert withheld["last_error"] == f"paused until {until.isoformat()}"
    assert by_tender[f"tender-{supplier_id}-2"]["state"] == "sent"
    assert len(caught) == 1


async def test_an_unsubscribed_address_gets_its_message_and_a_bounced_one_does_not(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("stopped")
    unsubscribed = f"{supplier_id}-left@example.org"
    bounced = f"{supplier_id}-gone@example.org"
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        await conn.execute(
            "INSERT INTO suppressions (channel, address, reason)"
            " VALUES ('email', $1, 'unsubscribed'), ('email', $2, 'SMTP 550 no such user')",
            unsubscribed,
            bounced,
        )
    finally:
        await conn.close()
    events = [
        account_message(supplier_id, bounced, purpose=AccountPurpose.SIGN_IN),
        account_message(supplier_id, unsubscribed, purpose=AccountPurpose.SIGN_IN),
    ]
    await publish_to_notify(platform, topics.ACCOUNT_MESSAGES, events)

    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 2)
    )
    await eventually(lambda: arrived(mail_catcher, unsubscribed), until=lambda m: len(m) == 1)

    assert sorted(r["state"] for r in rows) == ["sent", "suppressed"]
    assert mail_to(mail_catcher, bounced) == []


async def test_a_contact_busy_for_now_gets_the_retry_and_the_others_nothing_twice(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("busy")
    own, busy = f"{supplier_id}@example.org", f"tempfail-once-{supplier_id}@example.org"
    alert = alert_for(supplier_id, own, f"tender-{supplier_id}", also_email=(busy,))
    await publish_to_notify(platform, topics.MATCHES, [alert])

    await eventually(lambda: arrived(mail_catcher, busy), until=lambda m: len(m) == 1)
    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 1)
    )

    assert rows[0]["state"] == "sent"
    assert rows[0]["attempts"] == 2
    assert len(mail_to(mail_catcher, own)) == 1


async def test_a_digest_goes_to_every_verified_contact(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("digest")
    own, other = f"{supplier_id}@example.org", f"{supplier_id}-buyer@example.org"
    alerts = [
        alert_for(
            supplier_id,
            own,
            f"tender-{supplier_id}-{n}",
            also_email=(other,),
            delivery=Delivery.DAILY_DIGEST,
            digest_hour=0,  # due at once, whatever the time
        )
        for n in (1, 2)
    ]
    await publish_to_notify(platform, topics.MATCHES, alerts)

    await eventually(lambda: arrived(mail_catcher, other), until=lambda m: len(m) == 1)
    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id),
        until=lambda r: settled(r, 2) and {x["state"] for x in r} == {"sent"},
    )

    to_own, to_other = mail_to(mail_catcher, own), mail_to(mail_catcher, other)
    assert len(rows) == 2
    assert len(to_own) == 1
    assert to_own[0].subject == to_other[0].subject
    assert to_own[0].message_id != to_other[0].message_id


async def test_a_message_that_expires_while_it_waits_is_failed_not_sent(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("waited")
    address = f"{supplier_id}@example.org"
    message = account_message(supplier_id, address, expires_in=timedelta(hours=1)).data
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        # As a row that waited (a relay down for an hour) past its expiry: still queued, due.
        await conn.execute(
            "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel,"
            " address, language, timezone, match, expires_at)"
            " VALUES ($1, $2, $3, 0, 'verify_email', 'email', $4, 'en', 'UTC', $5::jsonb,"
            " now() - interval '1 minute')",
            new_event_id(),
            supplier_id,
            f"account:{message.message_id}",
            address,
            message.model_dump_json(),
        )
        await conn.execute("SELECT pg_notify('deliveries_wake', '')")
    finally:
        await conn.close()

    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 1)
    )

    assert rows[0]["state"] == "failed"
    assert rows[0]["last_error"].startswith("expired")
    assert mail_to(mail_catcher, address) == []
    assert await credentials_kept(platform, supplier_id) == [False]


async def test_a_pause_holds_back_an_alert_already_waiting_for_the_digest(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("hold")
    address = f"{supplier_id}@example.org"
    waiting = alert_for(
        supplier_id,
        address,
        f"tender-{supplier_id}",
        delivery=Delivery.DAILY_DIGEST,
        digest_hour=23,
        timezone=a_zone_at_11(),
    )
    await publish_to_notify(platform, topics.MATCHES, [waiting])
    await eventually(
        lambda: rows_of(http, platform, supplier_id),
        until=lambda r: [x["state"] for x in r] == ["batched"],
    )
    until = datetime.now(UTC) + timedelta(days=3)
    paused = waiting.data.recipient.model_copy(update={"paused_until": until})
    updated = Envelope[SupplierChanged](
        type=SUPPLIER_UPDATED,
        source="tests",
        subject=supplier_id,
        data=SupplierChanged(
            supplier=paused, country="SEN", unspsc_codes=("40141700",), active=True, version=2
        ),
    )
    await publish_to_notify(platform, topics.SUPPLIERS, [updated])

    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id),
        until=lambda r: [x["state"] for x in r] == ["suppressed"],
    )

    assert rows[0]["last_error"] == f"paused until {until.isoformat()}"


async def test_a_hostile_account_message_is_set_aside_and_the_next_one_goes(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    supplier_id = unique("hostile")
    good_address = f"{supplier_id}@example.org"
    nul = account_message(supplier_id, f"{supplier_id}\x00@example.org")
    script = account_message(supplier_id, f"{supplier_id}-x@example.org")
    script = script.model_copy(
        update={
            "data": script.data.model_copy(
                update={"link": "javascript:alert(1)", "legal_name": "<script>x</script>"}
            )
        }
    )
    good = account_message(supplier_id, good_address, legal_name="<b>Acme</b>")
    await publish_to_notify(platform, topics.ACCOUNT_MESSAGES, [nul, script, good])

    caught = await eventually(
        lambda: arrived(mail_catcher, good_address), until=lambda m: len(m) == 1
    )
    rows = await eventually(
        lambda: rows_of(http, platform, supplier_id), until=lambda r: settled(r, 2)
    )

    assert "&lt;b&gt;Acme&lt;/b&gt;" in caught[0].html
    assert sorted((r["state"], (r["last_error"] or "")[:28]) for r in rows) == [
        ("failed", "cannot compose the e-mail: t"),
        ("sent", ""),
    ]
    assert mail_to(mail_catcher, f"{supplier_id}-x@example.org") == []
