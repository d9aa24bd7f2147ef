"""Notify's edges against hostile callers, over the real platform: SMS status callbacks count
only when signed by the provider the URL names, and the deliveries list refuses a request it
cannot answer with a 422 naming the field.

The delivery is a ledger row written with SQL in state 'sent', as the worker leaves it once a
provider took the message: a forged "delivered" or "failed" would move it, so "unchanged"
means the refusal held. (`test_sms` shows the stub's own signed callbacks end deliveries
`delivered`.)
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tenderwire_notify.sms import SIGNATURE_HEADER, status_callback_url
from tenderwire_shared.envelope import new_event_id
from tests.support.platform import OPERATOR_HEADERS, SMS_AUTH_TOKENS, Platform
from tests.support.sms_callbacks import post_status

pytestmark = pytest.mark.integration

DELIVERED = {"MessageSid": "SMforged", "MessageStatus": "delivered"}


async def a_sent_sms(platform: Platform) -> str:
    delivery_id = new_event_id()
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        await conn.execute(
            "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel, address,"
            " language, timezone, match, state, attempts, provider_ref)"
            " VALUES ($1, $2, $3, 1, 'new', 'sms', '+221770001234', 'fr', 'Africa/Dakar', '{}',"
            " 'sent', 1, 'primary:SMsent')",
            delivery_id,
            new_event_id(),
            new_event_id(),
        )
    finally:
        await conn.close()
    return delivery_id


async def ledger_row(platform: Platform, delivery_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        row = await conn.fetchrow(
            "SELECT state, last_error, updated_at FROM deliveries WHERE id = $1", delivery_id
        )
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


def primary(platform: Platform) -> Any:
    return platform.notify_settings().sms_providers[0]


def refused_at(response: httpx.Response, loc: list[str]) -> None:
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert [e["loc"] for e in detail] == [loc]
    assert all(e["msg"] for e in detail)


async def test_an_unsigned_callback_is_refused_and_the_delivery_unchanged(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notify is not None
    delivery_id = await a_sent_sms(platform)
    before = await ledger_row(platform, delivery_id)

    # As anyone could post it before: the old URL, and the URL notify now gives providers.
    bare = await http.post(f"{platform.notify.url}/v1/sms/status/{delivery_id}", data=DELIVERED)
    unsigned = await http.post(
        status_callback_url(platform.notify.url, primary(platform), delivery_id), data=DELIVERED
    )

    refused_at(bare, ["query", "provider"])
    refused_at(unsigned, ["header", SIGNATURE_HEADER])
    assert await ledger_row(platform, delivery_id) == before


@pytest.mark.parametrize(
    "forgery", ["a guessed token", "the other provider's token", "a bogus header"]
)
async def test_a_forged_signature_is_refused_and_the_delivery_unchanged(
    platform: Platform, http: httpx.AsyncClient, forgery: str
) -> None:
    assert platform.notify is not None
    delivery_id = await a_sent_sms(platform)
    before = await ledger_row(platform, delivery_id)
    failed = {"MessageSid": "SMforged", "MessageStatus": "failed", "ErrorCode": "30003"}

    if forgery == "a bogus header":
        url = status_callback_url(platform.notify.url, primary(platform), delivery_id)
        response = await http.post(url, data=failed, headers={SIGNATURE_HEADER: "x" * 28})
    else:
        token = (
            "guessed"
            if forgery == "a guessed token"
            else SMS_AUTH_TOKENS["secondary"].get_secret_value()
        )
        response = await post_status(
            http, platform.notify.url, primary(platform), delivery_id, failed, signed_with=token
        )

    refused_at(response, ["header", SIGNATURE_HEADER])
    assert await ledger_row(platform, delivery_id) == before


async def test_a_valid_signature_replayed_for_another_delivery_is_refused(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notify is not None
    seen, target = await a_sent_sms(platform), await a_sent_sms(platform)
    before = await ledger_row(platform, target)
    url = status_callback_url(platform.notify.url, primary(platform), seen)
    captured = await post_status(http, platform.notify.url, primary(platform), seen, DELIVERED)

    replayed = await http.post(
        url.replace(seen, target),
        data=DELIVERED,
        headers={SIGNATURE_HEADER: captured.request.headers[SIGNATURE_HEADER]},
    )

    assert captured.status_code == 204
    refused_at(replayed, ["header", SIGNATURE_HEADER])
    assert await ledger_row(platform, target) == before


async def test_a_callback_signed_by_its_provider_is_applied(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notify is not None
    delivery_id = await a_sent_sms(platform)

    response = await post_status(
        http, platform.notify.url, primary(platform), delivery_id, DELIVERED
    )

    assert response.status_code == 204
    assert (await ledger_row(platform, delivery_id))["state"] == "delivered"


async def test_a_control_character_in_the_error_code_is_refused_by_name(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notify is not None
    delivery_id = await a_sent_sms(platform)
    before = await ledger_row(platform, delivery_id)

    response = await post_status(
        http,
        platform.notify.url,
        primary(platform),
        delivery_id,
        {"MessageStatus": "failed", "ErrorCode": "300\x0003"},
    )

    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "ErrorCode"]]
    assert await ledger_row(platform, delivery_id) == before


async def test_deliveries_without_a_filter_get_a_422_naming_the_field(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    assert platform.notify is not None

    response = await http.get(f"{platform.notify.url}/v1/deliveries", headers=OPERATOR_HEADERS)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert [e["loc"] for e in detail] == [["query", "tender_id"]]
    assert "supplier_id" in detail[0]["msg"]


@pytest.mark.parametrize("field", ["tender_id", "supplier_id"])
@pytest.mark.parametrize("value", ["\x00", "a\x00b", "x" * 65, "'; DROP TABLE deliveries; --"])
async def test_a_filter_that_is_no_id_gets_a_422_naming_it(
    platform: Platform, http: httpx.AsyncClient, field: str, value: str
) -> None:
    assert platform.notify is not None

    response = await http.get(
        f"{platform.notify.url}/v1/deliveries", params={field: value}, headers=OPERATOR_HEADERS
    )

    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["detail"]] == [["query", field]]
