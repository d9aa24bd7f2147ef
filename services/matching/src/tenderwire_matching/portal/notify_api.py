"""Notify's API as the portal reads it, server-side, with the operators' token: a supplier's
last alerts and the state of its channels, and stopping or resuming them.

Notify is another service and may be down or older than this code: every answer is read
defensively, and any failure (unreachable, slow, an error status, a shape we cannot read) is
`NotifyUnavailableError`, which the pages turn into "not available right now", never a 5xx.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import structlog

log = structlog.get_logger()

TIMEOUT_S = 3.0
ALERTS_SHOWN = 50


class NotifyUnavailableError(Exception):
    pass


@dataclass(frozen=True)
class AlertRow:
    tender_id: str | None
    tender_title: str | None
    kind: str | None
    channel: str | None
    state: str | None
    reason: str | None
    created_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True)
class ChannelState:
    channel: str
    address: str
    stopped: bool
    reason: str | None


def _text(value: Any, limit: int = 500) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)[:limit]


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _rows(body: Any, key: str) -> list[dict[str, Any]]:
    items = body.get(key) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise NotifyUnavailableError(f"notify answered no list of {key}")
    return [item for item in items if isinstance(item, dict)]


def read_alerts(body: Any) -> list[AlertRow]:
    return [
        AlertRow(
            tender_id=_text(item.get("tender_id"), 100),
            tender_title=_text(item.get("tender_title")),
            kind=_text(item.get("kind"), 40),
            channel=_text(item.get("channel"), 40),
            state=_text(item.get("state"), 40),
            reason=_text(item.get("reason")),
            created_at=_moment(item.get("created_at")),
            sent_at=_moment(item.get("sent_at")),
        )
        for item in _rows(body, "alerts")[:ALERTS_SHOWN]
    ]


def read_channels(body: Any) -> list[ChannelState]:
    states = []
    for item in _rows(body, "channels"):
        channel, address = _text(item.get("channel"), 20), _text(item.get("address"), 320)
        if channel not in ("email", "sms") or address is None:
            continue
        states.append(
            ChannelState(channel, address, item.get("stopped") is True, _text(item.get("reason")))
        )
    return states


class NotifyApi:
    def __init__(self, client: httpx.AsyncClient, base_url: str, operator_token: str | None):
        self._client = client
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {operator_token}"} if operator_token else {}

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(
                method, f"{self._base}{path}", headers=self._headers, timeout=TIMEOUT_S, **kwargs
            )
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("notify_unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
            raise NotifyUnavailableError(str(exc)) from exc

    async def alerts(self, supplier_id: str) -> list[AlertRow]:
        body = await self._call(
            "GET", f"/v1/suppliers/{supplier_id}/alerts", params={"limit": ALERTS_SHOWN}
        )
        return read_alerts(body)

    async def channels(
        self, supplier_id: str, addresses: list[tuple[str, str]]
    ) -> list[ChannelState]:
        body = await self._call(
            "GET", f"/v1/suppliers/{supplier_id}/channels", params=_address_params(addresses)
        )
        return read_channels(body)

    async def set_subscribed(
        self, supplier_id: str, scope: str, subscribed: bool, addresses: list[tuple[str, str]]
    ) -> list[ChannelState]:
        body = await self._call(
            "POST",
            f"/v1/suppliers/{supplier_id}/channels",
            json={
                "scope": scope,
                "subscribed": subscribed,
                "addresses": [{"channel": c, "address": a} for c, a in addresses],
            },
        )
        try:
            return read_channels(body)
        except NotifyUnavailableError:
            # The change was made; an answer without the states only means we ask again.
            return await self.channels(supplier_id, addresses)


def _address_params(addresses: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("email" if channel == "email" else "phone", address) for channel, address in addresses]
