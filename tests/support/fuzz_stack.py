"""The platform the schemathesis run fuzzes, seeded with real agencies, notices in every state,
suppliers, deliveries and unsubscribe links, so the fuzzer's requests get past authentication
and the "no such id" checks into the code behind them.

Schemathesis calls the APIs synchronously from the test's thread, so the platform runs on an
event loop of its own in a second thread: the session's loop (where the shared `platform`
fixture lives) does not run during a synchronous test, and its servers would never answer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any, TypeVar

import httpx

from tenderwire_notify.schemas import Subscriber, token_for
from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port
from tests.support.matching_helpers import publish, register, unique
from tests.support.notices_api import Agency, in_days
from tests.support.platform import OPERATOR_TOKEN, Platform

T = TypeVar("T")

# How many of each thing the fuzzer draws from. Enough that the operations that use an id up
# (cancel, award, deactivate) still find fresh ones late in the run; few enough to seed quickly.
AGENCIES = 3
NOTICES_PER_STATE = 3
SUPPLIERS = 4
SEED_TIMEOUT_S = 180.0
# The seeded suppliers' code, which one notice carries, so notify has deliveries (e-mail and
# SMS) to list and SMS callbacks to receive. The other notices carry a code no supplier has:
# the fuzzer amends them, and alerts for each amendment would only slow the run down.
MATCHED_CODE = "42131606"
UNMATCHED_CODE = "43211503"
# The expendable suppliers' code, in a segment no seeded notice is in.
IDLE_CODE = "44121701"


@dataclass(frozen=True)
class SeededNotice:
    id: str
    status: str
    agency_key: str


@dataclass(frozen=True)
class SeededSupplier:
    id: str
    token: str
    email: str


@dataclass
class Seeds:
    """Real identities and ids, grouped by what the fuzzer may do with them."""

    operator_token: str
    agency_codes: list[str]
    agency_keys: list[str]
    # By the operation that may use them: cancelling or awarding uses a notice up, so each of
    # those operations draws from its own notices and the others keep theirs in their state.
    notices: dict[str, list[SeededNotice]]
    search_cursor: str
    suppliers: list[SeededSupplier]
    # Deactivation uses a supplier up (its token stops working), so it has its own.
    expendable_suppliers: list[SeededSupplier]
    tender_ids: list[str]
    delivery_ids: list[str]
    sms_delivery_ids: list[str]
    unsubscribe_tokens: list[str]
    # SMS provider name -> auth token, which signs its status callbacks.
    sms_providers: dict[str, str]

    def all_notices(self) -> list[SeededNotice]:
        return [notice for group in self.notices.values() for notice in group]


class _LoopThread:
    """An event loop running in a daemon thread, fed coroutines from the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-stack")
        self._thread.daemon = True
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = SEED_TIMEOUT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


@dataclass
class FuzzStack:
    kafka: str
    admin_dsn: str
    platform: Platform | None = None
    seeds: Seeds | None = None
    _loop: _LoopThread = field(default_factory=_LoopThread)
    _mail: MailCatcher | None = None

    def start(self) -> None:
        self._loop.run(self._start())

    def stop(self) -> None:
        try:
            self._loop.run(self._stop())
        finally:
            self._loop.close()

    def url(self, service: str) -> str:
        assert self.platform is not None
        server = getattr(self.platform, service)
        assert server is not None, service
        url: str = server.url
        return url

    async def _start(self) -> None:
        self._mail = MailCatcher(smtp_port=free_port(), http_port=free_port())
        await self._mail.start()
        self.platform = Platform(self.kafka, self.admin_dsn, self._mail.smtp_port)
        await self.platform.start()
        async with httpx.AsyncClient(timeout=30.0) as http:
            self.seeds = await _seed(self.platform, http)

    async def _stop(self) -> None:
        if self.platform is not None:
            await self.platform.stop()
        if self._mail is not None:
            await self._mail.stop()


async def _seed(platform: Platform, http: httpx.AsyncClient) -> Seeds:
    assert platform.notify is not None
    agencies = [Agency(http, platform, *await platform.new_agency()) for _ in range(AGENCIES)]
    suppliers = [await _supplier(http, platform, n, MATCHED_CODE) for n in range(SUPPLIERS)]
    expendable = [
        await _supplier(http, platform, SUPPLIERS + n, IDLE_CODE) for n in range(SUPPLIERS)
    ]

    def owner(n: int) -> Agency:
        return agencies[n % len(agencies)]

    async def published(n: int, **overrides: Any) -> SeededNotice:
        notice = await publish(owner(n), **{"unspsc_codes": [UNMATCHED_CODE], **overrides})
        return SeededNotice(notice["id"], "open", owner(n).key)

    # Closing needs the deadline behind the platform's clock, so these are published first,
    # closed together, and the clock put back before the open ones are published.
    closing = [await published(n, deadline=in_days(1)) for n in range(3 * NOTICES_PER_STATE)]
    platform.clock.advance(timedelta(days=2))
    try:
        for notice in closing:
            await eventually(
                lambda n=notice: _status(http, platform, n.id),  # type: ignore[misc]
                until=lambda status: status == "closed",
            )
    finally:
        platform.clock.advance(timedelta(days=-2))
    closed = [SeededNotice(n.id, "closed", n.agency_key) for n in closing]
    to_award, to_keep_closed, to_have_awarded = (
        closed[:NOTICES_PER_STATE],
        closed[NOTICES_PER_STATE : 2 * NOTICES_PER_STATE],
        closed[2 * NOTICES_PER_STATE :],
    )
    awarded = []
    for notice in to_have_awarded:
        award = await Agency(http, platform, "", notice.agency_key).award(
            notice.id, date=platform.clock.now().astimezone(UTC).date().isoformat()
        )
        assert award.status_code == 200, award.text
        awarded.append(SeededNotice(notice.id, "awarded", notice.agency_key))
    amendable = [await published(n) for n in range(NOTICES_PER_STATE)]
    cancellable = [await published(n) for n in range(NOTICES_PER_STATE)]
    cancelled = []
    for n in range(NOTICES_PER_STATE):
        notice = await published(n)
        response = await owner(n).cancel(notice.id, "Budget withdrawn")
        assert response.status_code == 200, response.text
        cancelled.append(SeededNotice(notice.id, "cancelled", notice.agency_key))

    delivered = await published(0, unspsc_codes=[MATCHED_CODE])
    readable = [delivered, *amendable, *to_keep_closed, *awarded, *cancelled]
    deliveries = await _deliveries(http, platform, suppliers)
    notify_settings = platform.notify_settings()
    unsubscribe_tokens = [
        token_for(notify_settings, Subscriber(supplier_id=s.id, channel="email", address=s.email))
        for s in suppliers
    ]
    page = await http.get(f"{agencies[0].base}", params={"limit": 1})
    assert page.status_code == 200, page.text
    return Seeds(
        operator_token=OPERATOR_TOKEN.get_secret_value(),
        agency_codes=[a.code for a in agencies],
        agency_keys=[a.key for a in agencies],
        notices={
            "amend": amendable,
            "cancel": cancellable,
            "award": to_award,
            "read": readable,
        },
        search_cursor=page.json()["next_cursor"],
        suppliers=suppliers,
        expendable_suppliers=expendable,
        tender_ids=sorted({d["tender_id"] for d in deliveries}),
        delivery_ids=[d["id"] for d in deliveries],
        sms_delivery_ids=[d["id"] for d in deliveries if d["channel"] == "sms"],
        unsubscribe_tokens=unsubscribe_tokens,
        sms_providers={
            p.name: p.auth_token.get_secret_value() for p in notify_settings.sms_providers
        },
    )


async def _supplier(
    http: httpx.AsyncClient, platform: Platform, n: int, code: str
) -> SeededSupplier:
    email = f"{unique('fuzz')}@example.org"
    body = await register(
        http,
        platform,
        unspsc_codes=[code],
        email=email,
        phone=f"+221 77 000 {10 + n:02d} 00",
        language="fr",
        timezone="Africa/Dakar",
    )
    return SeededSupplier(body["id"], body["token"], email)


async def _status(http: httpx.AsyncClient, platform: Platform, notice_id: str) -> str:
    assert platform.notices is not None
    response = await http.get(f"{platform.notices.url}/v1/notices/{notice_id}")
    response.raise_for_status()
    status: str = response.json()["status"]
    return status


async def _deliveries(
    http: httpx.AsyncClient, platform: Platform, suppliers: list[SeededSupplier]
) -> list[dict[str, Any]]:
    """Every supplier's deliveries, once each has its e-mail and its SMS."""
    assert platform.notify is not None
    found: list[dict[str, Any]] = []
    for supplier in suppliers:

        async def rows(supplier_id: str = supplier.id) -> list[dict[str, Any]]:
            assert platform.notify is not None
            response = await http.get(
                f"{platform.notify.url}/v1/deliveries",
                params={"supplier_id": supplier_id},
                headers={"Authorization": f"Bearer {OPERATOR_TOKEN.get_secret_value()}"},
            )
            response.raise_for_status()
            listed: list[dict[str, Any]] = response.json()
            return listed

        listed = await eventually(
            rows, until=lambda r: {d["channel"] for d in r} >= {"email", "sms"}
        )
        found.extend(listed)
    return found
