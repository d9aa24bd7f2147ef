"""Fakes for the portal's preference pages: a signed-in supplier without a database, a registry
that records each change, a catalogue and feed tokens in memory, and notify over a transport
the test scripts. The app runs without its lifespan; a page that reaches the pool fails."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request

from tenderwire_matching.bootstrap import create_app
from tenderwire_matching.domain.matching import fold
from tenderwire_matching.portal.catalogue.domain import (
    Query,
    Scheme,
    Source,
    TitleRow,
    best_titles,
    children,
    significant,
)
from tenderwire_matching.portal.catalogue.services import Catalogue, CodeEntry, _entry
from tenderwire_matching.portal.notify_api import NotifyApi
from tenderwire_matching.portal.web import alerts, codes, preferences, profile
from tenderwire_matching.portal.web.sessions import Session, signed_in
from tenderwire_matching.schemas import SupplierUpdate, SupplierView
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared.dependencies import get_pool
from tenderwire_shared.events.matches import Delivery
from tenderwire_shared.settings import Environment

SUPPLIER_ID = "supplier-1"
OPERATOR_TOKEN = "operator-token-for-the-portal-tests-0000"  # noqa: S105 - a test value


class NoDatabase:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a portal page reached the database (pool.{name})")


def a_profile(**overrides: Any) -> SupplierView:
    fields: dict[str, Any] = {
        "id": SUPPLIER_ID,
        "legal_name": "Kibo Medical Ltd",
        "country": "SEN",
        "economy_group": "developing",
        "least_developed": True,
        "unspsc_codes": ["42131606"],
        "cpv_codes": [],
        "email": "bids@kibo.example",
        "phone": "+221771234567",
        "language": "en",
        "timezone": "Africa/Dakar",
        "delivery": Delivery.IMMEDIATE,
        "digest_hour": 8,
        "quiet_hours": None,
        "beneficiary_countries": [],
        "agencies": [],
        "notice_types": [],
        "keywords": [],
        "active": True,
        "version": 1,
    }
    fields.update(overrides)
    return SupplierView(**fields)


class FakeCatalogue(Catalogue):
    """The catalogue's reads over rows in memory, with the domain's own rules."""

    def __init__(self, rows: dict[Scheme, list[TitleRow]]) -> None:
        super().__init__(NoDatabase())  # type: ignore[arg-type]
        self.rows = rows

    async def describe(self, scheme: Scheme, codes: Any, language: str) -> list[CodeEntry]:
        best = best_titles(self.rows.get(scheme, []), language)
        return [_entry(scheme, code, best.get(code)) for code in codes]

    async def search(
        self, scheme: Scheme, query: Query, language: str, limit: int = 50
    ) -> list[CodeEntry]:
        rows = self.rows.get(scheme, [])
        if query.prefix is not None:
            found = sorted({r.code for r in rows if r.code.startswith(query.prefix)})
        else:
            found = sorted({r.code for r in rows if all(w in fold(r.title) for w in query.words)})
        return await self.describe(scheme, found[:limit], language)

    async def below(self, scheme: Scheme, parent: str | None, language: str) -> list[CodeEntry]:
        prefix = "" if parent is None else significant(scheme, parent)
        known = [r.code for r in self.rows.get(scheme, []) if r.code.startswith(prefix)]
        return await self.describe(scheme, children(scheme, parent, known), language)


def titles(*rows: tuple[str, str, str]) -> list[TitleRow]:
    """(code, language, title) rows learnt from notices."""
    return [TitleRow(code, language, title, Source.NOTICES, 1) for code, language, title in rows]


class FakeFeeds(preferences.FeedTokens):
    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.made = 0

    async def current(self, supplier_id: str) -> str | None:
        return self.tokens.get(supplier_id)

    async def renew(self, supplier_id: str) -> str:
        self.made += 1
        self.tokens[supplier_id] = f"feed-token-{self.made}"
        return self.tokens[supplier_id]

    async def stop(self, supplier_id: str) -> None:
        self.tokens.pop(supplier_id, None)


@dataclass
class Portal:
    app: FastAPI
    http: httpx.AsyncClient
    profile: SupplierView
    saved: list[SupplierUpdate] = field(default_factory=list)
    notify_calls: list[httpx.Request] = field(default_factory=list)

    async def form_token(self, path: str = "/portal/preferences") -> str:
        page = await self.http.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)

    async def post(self, path: str, data: Any, **kwargs: Any) -> httpx.Response:
        token = await self.form_token()
        pairs = [*data.items()] if isinstance(data, dict) else list(data)
        return await self.http.post(
            path,
            content=urlencode([("form_token", token), *pairs]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            **kwargs,
        )


NotifyScript = Callable[[httpx.Request], httpx.Response]


def notify_answering(calls: list[httpx.Request], script: NotifyScript) -> NotifyApi:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return script(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return NotifyApi(client, "http://notify", OPERATOR_TOKEN)


def default_notify(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/alerts"):
        return httpx.Response(200, json=[])
    return httpx.Response(
        200, json=[{"channel": "email", "address": "bids@kibo.example", "stopped": False}]
    )


async def portal(
    catalogue: FakeCatalogue | None = None,
    notify: NotifyScript = default_notify,
    **profile_fields: Any,
) -> AsyncIterator[Portal]:
    app = create_app(MatchingSettings(environment=Environment.TEST))
    state = Portal(app, httpx.AsyncClient(), a_profile(**profile_fields))
    feeds = FakeFeeds()

    def session(request: Request) -> Session:
        found = Session(SUPPLIER_ID, state.profile.language, "session-token")
        request.state.portal_session = found
        return found

    async def save(supplier_id: str, change: SupplierUpdate) -> None:
        assert supplier_id == SUPPLIER_ID
        state.saved.append(change)
        merged = state.profile.model_dump()
        merged.update(change.model_dump(exclude_unset=True))
        state.profile = SupplierView(**merged)

    app.dependency_overrides[get_pool] = NoDatabase
    app.dependency_overrides[signed_in] = session
    app.dependency_overrides[profile.own_profile] = lambda: state.profile
    app.dependency_overrides[profile.saver] = lambda: save
    app.dependency_overrides[codes.get_catalogue] = lambda: catalogue or FakeCatalogue({})
    app.dependency_overrides[preferences.FeedTokens] = lambda: feeds
    app.dependency_overrides[alerts.notify_api] = lambda: notify_answering(
        state.notify_calls, notify
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://matching") as client:
        state.http = client
        yield state
