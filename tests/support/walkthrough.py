"""What most end-to-end tests start from: a notice body, an agency's headers, a supplier
registered exactly as given, and the mail one address received."""

from __future__ import annotations

from typing import Any

import httpx

from tenderwire_shared.envelope import new_event_id
from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.platform import OPERATOR_HEADERS, Platform


def unique(label: str) -> str:
    return f"{label}-{new_event_id()[-12:]}"


def a_notice(**overrides: Any) -> dict[str, Any]:
    notice = {
        "reference": unique("UNICEF-RFQ"),
        "title": "Isolation gowns for health centres",
        "description": "Disposable isolation gowns, long-term agreement.",
        "notice_type": "request_for_quotation",
        "unspsc_codes": ["42131606"],
        "beneficiary_countries": ["SN", "Mali"],
        "deadline": "2027-01-15T17:00:00+01:00",
    }
    return {**notice, **overrides}


def as_agency(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


async def register(http: httpx.AsyncClient, platform: Platform, **fields: Any) -> dict[str, Any]:
    assert platform.matching is not None
    # With the operators' token: verified at once, as the alerts these tests follow need.
    response = await http.post(
        f"{platform.matching.url}/v1/suppliers", json=fields, headers=OPERATOR_HEADERS
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def mail_to(http: httpx.AsyncClient, catcher: MailCatcher, address: str) -> list[Any]:
    response = await http.get(
        f"http://127.0.0.1:{catcher.http_port}/api/messages", params={"to": address}
    )
    response.raise_for_status()
    messages: list[Any] = response.json()
    return messages
