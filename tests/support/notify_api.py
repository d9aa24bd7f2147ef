"""Reading notify's delivery ledger the way an operator does: over its HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.platform import OPERATOR_HEADERS, Platform


async def deliveries(http: httpx.AsyncClient, platform: Platform, supplier_id: str) -> list[Any]:
    assert platform.notify is not None
    response = await http.get(
        f"{platform.notify.url}/v1/deliveries",
        params={"supplier_id": supplier_id},
        headers=OPERATOR_HEADERS,
    )
    response.raise_for_status()
    found: list[Any] = response.json()
    return found


def settled(rows: list[Any], count: int) -> bool:
    return len(rows) == count and all(r["state"] not in ("queued", "sending") for r in rows)
