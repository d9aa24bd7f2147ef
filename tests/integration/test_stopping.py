"""Stopping on every channel, over the real stack (Kafka, PostgreSQL, SMTP, the SMS stub):
STOP texted back in Portuguese stops that number's texts and is confirmed in Portuguese while
e-mail goes on, and START resumes them; "all alerts" from the e-mail's unsubscribe link stops
the supplier's texts too, and undo lifts only what the supplier asked for, never a bounce."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx
import pytest

from tenderwire_notify.domain import SmsCommand
from tenderwire_notify.schemas import Subscriber, link_for
from tenderwire_notify.sms_text import reply_to
from tenderwire_shared.masking import mask_address
from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import a_zone_at_11, deliveries
from tests.support.platform import Platform
from tests.support.walkthrough import mail_to

pytestmark = pytest.mark.integration


def by_tender(rows: list[Any], tender_id: str) -> dict[str, str]:
    """{channel: state} of one tender's alerts."""
    return {r["channel"]: r["state"] for r in rows if r["tender_id"] == tender_id}


async def alerts_settle(
    http: httpx.AsyncClient, platform: Platform, supplier_id: str, tender_id: str, **states: str
) -> None:
    """Wait until the supplier's alerts about the tender reach `states` ({channel: state})."""
    await eventually(
        lambda: deliveries(http, platform, supplier_id),
        until=lambda rows: by_tender(rows, tender_id) == states,
    )


def texts_to(platform: Platform, phone: str, *, replies: bool = False) -> list[Any]:
    """SMS the stubs sent to `phone`: alerts, or (`replies`) answers to its texts."""
    return [
        m
        for gateway in platform.sms_gateways.values()
        for m in gateway.messages
        if m.to == phone and (m.in_reply_to is not None) == replies
    ]


async def text_from(
    http: httpx.AsyncClient, platform: Platform, phone: str, body: str
) -> dict[str, Any]:
    """`phone` texts `body` to the primary provider, which hands it to notify's webhook."""
    response = await http.post(
        f"{platform.sms_gateways['primary'].server.url}/api/inbound",
        json={"from": phone, "body": body},
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == 200, answer
    return answer


async def suppressions(platform: Platform) -> dict[tuple[str, str], str]:
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        rows = await conn.fetch("SELECT channel, address, reason FROM suppressions")
    finally:
        await conn.close()
    return {(r["channel"], r["address"]): r["reason"] for r in rows}


async def test_stop_in_portuguese_stops_texts_only_is_confirmed_in_portuguese_and_start_resumes(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email, phone = f"{unique('maputo')}@example.org", "+258840001122"
    supplier = await register(
        http,
        platform,
        country="MOZ",
        unspsc_codes=["43211500"],
        email=email,
        phone="+258 84 000 11 22",
        language="pt",
        timezone="Africa/Maputo",
    )
    first = await publish(agency, unspsc_codes=["43211501"])
    await alerts_settle(http, platform, supplier["id"], first["id"], email="sent", sms="delivered")
    assert len(texts_to(platform, phone)) == 1

    stopped = await text_from(http, platform, phone, "PARAR")

    help_contact = platform.notify_settings().sms_help_contact
    (stop_reply,) = stopped["replies"]
    assert stop_reply == reply_to(SmsCommand.STOP, language="pt", help_contact=help_contact)
    assert [m.body for m in texts_to(platform, phone, replies=True)] == [stop_reply]
    assert (await suppressions(platform))[("sms", phone)] == "sms-stop"
    again = await text_from(http, platform, phone, "parar")  # a second STOP changes nothing
    assert again["replies"] == [stop_reply]

    second = await publish(agency, unspsc_codes=["43211502"])
    await alerts_settle(
        http, platform, supplier["id"], second["id"], email="sent", sms="suppressed"
    )
    assert len(texts_to(platform, phone)) == 1
    assert len(await mail_to(http, mail_catcher, email)) == 2  # e-mail went on

    helped = await text_from(http, platform, phone, "Ajuda")
    assert helped["replies"] == [
        reply_to(SmsCommand.HELP, language="pt", help_contact=help_contact)
    ]
    started = await text_from(http, platform, phone, "Começar")
    (start_reply,) = started["replies"]
    assert start_reply == reply_to(SmsCommand.START, language="pt", help_contact=help_contact)
    assert ("sms", phone) not in await suppressions(platform)

    third = await publish(agency, unspsc_codes=["43211503"])
    await alerts_settle(http, platform, supplier["id"], third["id"], email="sent", sms="delivered")
    assert len(texts_to(platform, phone)) == 2

    # LANGUAGE CHECK: the confirmations are Portuguese, not the English msgids (needs the pt
    # catalog's translations of the "sms" replies).
    for command, reply in ((SmsCommand.STOP, stop_reply), (SmsCommand.START, start_reply)):
        assert reply != reply_to(command, language="en", help_contact=help_contact), reply


async def test_a_number_no_alert_went_to_is_answered_in_english_and_chatter_not_at_all(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    stranger = "+258840009911"

    stopped = await text_from(http, platform, stranger, "STOP")
    chatter = await text_from(http, platform, stranger, "obrigado!")

    assert stopped["replies"] == [reply_to(SmsCommand.STOP, language="en", help_contact="")]
    assert chatter["replies"] == []
    assert (await suppressions(platform))[("sms", stranger)] == "sms-stop"


async def test_all_alerts_from_the_emails_link_stops_texts_too_and_undo_resumes_both(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email, phone = f"{unique('lima')}@example.org", "+51912345678"
    supplier = await register(
        http,
        platform,
        country="PER",
        unspsc_codes=["43211600"],
        email=email,
        phone="+51 912 345 678",
        language="es",
        timezone="America/Lima",
    )
    first = await publish(agency, unspsc_codes=["43211601"])
    await alerts_settle(http, platform, supplier["id"], first["id"], email="sent", sms="delivered")
    (mail,) = await mail_to(http, mail_catcher, email)
    match = re.fullmatch(r"<(http://[^>]+)>", mail["headers"]["List-Unsubscribe"])
    assert match is not None
    link = match.group(1)

    confirm = await http.get(link)
    assert confirm.status_code == 200
    assert '<html lang="es"' in confirm.text
    assert 'name="scope" value="all"' in confirm.text
    done = await http.post(link, data={"scope": "all"})

    assert done.status_code == 200, done.text
    assert f'<bdi dir="ltr">{email}</bdi>' in done.text
    assert f'<bdi dir="ltr">{mask_address(phone)}</bdi>' in done.text  # a forwarded alert
    assert phone not in done.text
    stopped = await suppressions(platform)
    assert stopped[("email", email)] == stopped[("sms", phone)] == "unsubscribed"
    second = await publish(agency, unspsc_codes=["43211602"])
    await alerts_settle(
        http, platform, supplier["id"], second["id"], email="suppressed", sms="suppressed"
    )
    assert len(texts_to(platform, phone)) == 1
    assert len(await mail_to(http, mail_catcher, email)) == 1

    undone = await http.post(link, data={"scope": "resubscribe-all"})
    assert undone.status_code == 200, undone.text
    third = await publish(agency, unspsc_codes=["43211603"])
    await alerts_settle(http, platform, supplier["id"], third["id"], email="sent", sms="delivered")
    assert len(texts_to(platform, phone)) == 2


async def test_undo_on_the_emails_page_never_lifts_a_stop_the_phone_texted(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email, phone = f"{unique('quito')}@example.org", "+593991234567"
    supplier = await register(
        http,
        platform,
        country="ECU",
        unspsc_codes=["43211800"],
        email=email,
        phone=phone,
        language="es",
        timezone="America/Guayaquil",
    )
    first = await publish(agency, unspsc_codes=["43211801"])
    await alerts_settle(http, platform, supplier["id"], first["id"], email="sent", sms="delivered")
    await text_from(http, platform, phone, "BAJA")
    (mail,) = await mail_to(http, mail_catcher, email)
    link = mail["headers"]["List-Unsubscribe"].strip("<>")

    assert (await http.post(link, data={"scope": "all"})).status_code == 200
    undone = await http.post(link, data={"scope": "resubscribe-all"})

    # Only START from the phone undoes the phone's own STOP, whoever holds the e-mail.
    assert undone.status_code == 200
    assert mask_address(phone) in undone.text
    assert (await suppressions(platform))[("sms", phone)] == "sms-stop"
    second = await publish(agency, unspsc_codes=["43211802"])
    await alerts_settle(
        http, platform, supplier["id"], second["id"], email="sent", sms="suppressed"
    )


async def test_this_channel_from_the_emails_link_leaves_texts_alone(
    platform: Platform, mail_catcher: MailCatcher, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email, phone = f"{unique('dakar')}@example.org", "+221770007788"
    supplier = await register(
        http, platform, unspsc_codes=["43211700"], email=email, phone="+221 77 000 77 88"
    )
    first = await publish(agency, unspsc_codes=["43211701"])
    await alerts_settle(http, platform, supplier["id"], first["id"], email="sent", sms="delivered")
    (mail,) = await mail_to(http, mail_catcher, email)
    link = mail["headers"]["List-Unsubscribe"].strip("<>")

    done = await http.post(link, data={"List-Unsubscribe": "One-Click"})

    assert done.status_code == 200
    second = await publish(agency, unspsc_codes=["43211702"])
    await alerts_settle(
        http, platform, supplier["id"], second["id"], email="suppressed", sms="delivered"
    )
    assert ("sms", phone) not in await suppressions(platform)


async def test_all_alerts_reaches_a_phone_no_text_went_to_and_undo_never_lifts_a_bounce(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    # A digest supplier gets no texts, so its phone is known only from its alerts' match.
    code, key = await platform.new_agency()
    agency = Agency(http, platform, code, key)
    email, phone = f"{unique('digest')}@example.org", "+258840005566"
    supplier = await register(
        http,
        platform,
        country="MOZ",
        unspsc_codes=["43211800"],
        email=email,
        phone="+258 84 000 55 66",
        delivery="daily_digest",
        # Where the digest is not due for hours, so the alert stays batched while the test
        # looks: a digest due at once (after 08:00 UTC) would send it within a fifth of a second.
        timezone=a_zone_at_11(),
        digest_hour=23,
    )
    first = await publish(agency, unspsc_codes=["43211801"])
    await alerts_settle(http, platform, supplier["id"], first["id"], email="batched")
    subscriber = Subscriber(supplier_id=supplier["id"], channel="email", address=email)
    link = link_for(platform.notify_settings(), subscriber)

    done = await http.post(link, data={"scope": "all"})

    assert done.status_code == 200, done.text
    stopped = await suppressions(platform)
    assert stopped[("email", email)] == stopped[("sms", phone)] == "unsubscribed"

    # The e-mail address bounces meanwhile: undoing may lift the text, never the bounce.
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        await conn.execute(
            "UPDATE suppressions SET reason = '550 5.1.1 no such user' WHERE address = $1",
            email,
        )
    finally:
        await conn.close()
    undone = await http.post(link, data={"scope": "resubscribe-all"})

    assert undone.status_code == 200
    after = await suppressions(platform)
    assert after[("email", email)] == "550 5.1.1 no such user"
    assert ("sms", phone) not in after
