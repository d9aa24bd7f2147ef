"""SMS over a real HTTP provider API (the Twilio-style stub): delivery with status callbacks,
failover to the second provider, and callbacks that arrive twice or out of order."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenderwire_notify.sms_text import segments
from tests.support.eventually import eventually
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency
from tests.support.notify_api import deliveries
from tests.support.platform import Platform
from tests.support.sms_callbacks import post_status

pytestmark = pytest.mark.integration


async def sms_rows(http: httpx.AsyncClient, platform: Platform, supplier_id: str) -> list[Any]:
    return [r for r in await deliveries(http, platform, supplier_id) if r["channel"] == "sms"]


async def a_supplier_with_a_phone(
    http: httpx.AsyncClient, platform: Platform, code: str, phone: str
) -> dict[str, Any]:
    return await register(
        http,
        platform,
        unspsc_codes=[code],
        phone=phone,
        email=f"{unique('sms')}@example.org",
        language="fr",
        timezone="Africa/Dakar",
    )


async def test_an_sms_alert_is_sent_fits_two_parts_and_ends_delivered(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    supplier = await a_supplier_with_a_phone(http, platform, "52141500", "+221 77 000 11 22")
    title = "Réfrigérateurs solaires pour vaccins " * 6  # long, and not all GSM-7
    await publish(Agency(http, platform, code, key), unspsc_codes=["52141501"], title=title.strip())

    rows = await eventually(
        lambda: sms_rows(http, platform, supplier["id"]),
        until=lambda r: [x["state"] for x in r] == ["delivered"],
    )

    assert rows[0]["provider_ref"].startswith("primary:SM")
    sent = [m for m in platform.sms_gateways["primary"].messages if m.to == "+221770001122"]
    assert len(sent) == 1
    assert sent[0].body.startswith(f"Nouvel appel ({code}): Réfrigérateurs solaires")
    assert segments(sent[0].body) <= 2
    assert "/v1/notices/" in sent[0].body


async def test_when_the_first_provider_fails_the_second_takes_over(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    code, key = await platform.new_agency()
    supplier = await a_supplier_with_a_phone(http, platform, "52151500", "+221 77 000 33 44")
    platform.sms_gateways["primary"].outage = True
    try:
        await publish(Agency(http, platform, code, key), unspsc_codes=["52151501"])
        rows = await eventually(
            lambda: sms_rows(http, platform, supplier["id"]),
            until=lambda r: [x["state"] for x in r] == ["delivered"],
        )
    finally:
        platform.sms_gateways["primary"].outage = False

    assert rows[0]["provider_ref"].startswith("secondary:SM")
    assert rows[0]["attempts"] == 1  # failover happens within the attempt, not after a retry
    assert not [m for m in platform.sms_gateways["primary"].messages if m.to == "+221770003344"]


async def test_status_callbacks_are_idempotent_and_never_go_backwards(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notify is not None
    code, key = await platform.new_agency()
    supplier = await a_supplier_with_a_phone(http, platform, "52161500", "+221 77 000 55 66")
    await publish(Agency(http, platform, code, key), unspsc_codes=["52161501"])
    rows = await eventually(
        lambda: sms_rows(http, platform, supplier["id"]),
        until=lambda r: [x["state"] for x in r] == ["delivered"],
    )
    primary = platform.notify_settings().sms_providers[0]

    replies = [
        await post_status(
            http,
            platform.notify.url,
            primary,
            rows[0]["id"],
            {"MessageSid": "SMx", "MessageStatus": status},
        )
        for status in ("delivered", "sent", "queued", "delivered", "undelivered")
    ]
    unknown = await post_status(
        http, platform.notify.url, primary, "no-such-id", {"MessageStatus": "delivered"}
    )

    assert {r.status_code for r in replies} == {204}
    assert unknown.status_code == 204
    after = await sms_rows(http, platform, supplier["id"])
    assert [(r["state"], r["last_error"]) for r in after] == [("delivered", None)]
