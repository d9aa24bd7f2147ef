"""The console's pages through an in-process ASGI client, without the lifespan: the operators'
guard, the security headers, input refused before any query, and pages over fake pools. No
server, database or Kafka: what needs one is in tests/integration/test_console.py."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest_asyncio
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import SecretStr

from tenderwire_console.bootstrap import create_app
from tenderwire_console.dependencies import Pools, get_pools, operators_only
from tenderwire_console.settings import ConsoleSettings
from tenderwire_console.web import feed, pages

TOKEN = secrets.token_urlsafe(32)
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


class FakeDatabase:
    """Answers `fetch` with the rows `answer` gives for the SQL, or raises what it returns."""

    def __init__(self, answer: Callable[[str, tuple[Any, ...]], Any] | None = None) -> None:
        self.answer = answer or (lambda sql, args: [])
        self.queries: list[tuple[str, tuple[Any, ...]]] = []

    async def _answer(self, sql: str, args: tuple[Any, ...]) -> Any:
        self.queries.append((sql, args))
        answer = self.answer(sql, args)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._answer(sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._answer(sql, args)


def app_with(
    token: str | None = TOKEN,
    *,
    notices: FakeDatabase | None = None,
    matching: FakeDatabase | None = None,
    notify: FakeDatabase | None = None,
) -> FastAPI:
    settings = ConsoleSettings(
        operator_token=SecretStr(token) if token is not None else None,
        # Nothing listens here: a route that reached Kafka or a real database would fail.
        kafka_bootstrap_servers="127.0.0.1:9",
        notices_database_url="postgresql://nobody@127.0.0.1:9/notices",
        matching_database_url="postgresql://nobody@127.0.0.1:9/matching",
        notify_database_url="postgresql://nobody@127.0.0.1:9/notify",
    )
    app = create_app(settings)
    pools = Pools(
        *(cast(Any, db or FakeDatabase()) for db in (notices, matching, notify)),
    )
    app.dependency_overrides[get_pools] = lambda: pools
    return app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    # No lifespan: nothing connects; the app is as create_app left it.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console")


@pytest_asyncio.fixture
async def console() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app_with()) as client:
        yield client


# Every operator view, with ids that name nothing: the guard answers before any route runs.
OPERATOR_PATHS = [
    "/",
    "/feed",
    "/feed/stream",
    "/tenders",
    "/tenders?q=gowns",
    "/tenders/T-1",
    "/suppliers?q=Sahel",
    "/suppliers/S-1",
    "/suppliers/S-1?tender=T-1",
    "/deliveries/failed",
    "/deliveries/failed?problem=bounced",
    "/dead-letters",
    "/dead-letters/tw.tenders.matching.dlt:0:0",
    "/lag",
    "/ocds-feeds",
]


def test_every_operator_route_is_in_the_list() -> None:
    # Both routers carry the guard, so a route added to either is an operator view.
    assert pages.router.dependencies == feed.router.dependencies == [operators_only]
    guarded = {
        route.path
        for route in [*pages.router.routes, *feed.router.routes]
        if isinstance(route, APIRoute)
    }
    listed = {path.split("?")[0] for path in OPERATOR_PATHS}
    assert guarded == {
        "/",
        "/feed",
        "/feed/stream",
        "/tenders",
        "/tenders/{tender_id}",
        "/suppliers",
        "/suppliers/{supplier_id}",
        "/deliveries/failed",
        "/dead-letters",
        "/dead-letters/{ref:path}",
        "/lag",
        "/ocds-feeds",
    }
    assert len(listed) == len(guarded)


async def test_every_page_and_the_stream_turn_away_a_missing_or_wrong_token(
    console: httpx.AsyncClient,
) -> None:
    refused: dict[str, list[int]] = {}
    for path in OPERATOR_PATHS:
        refused[path] = [
            (await console.get(path, headers=headers)).status_code
            for headers in (
                {},
                {"Authorization": "Bearer not-the-token"},
                basic("operator", "not-the-token"),
                basic(TOKEN, ""),  # the token as the user name is not the password
            )
        ]
    assert refused == {path: [401, 401, 401, 401] for path in refused}
    challenge = await console.get("/")
    assert challenge.headers["WWW-Authenticate"].startswith("Basic ")


async def test_with_no_token_configured_every_operator_view_is_closed() -> None:
    async with client_for(app_with(token=None)) as closed:
        statuses = {
            path: (await closed.get(path, headers=BEARER)).status_code for path in OPERATOR_PATHS
        }
        health = await closed.get("/health")
    assert statuses == {path: 503 for path in statuses}
    assert health.status_code == 200


# Pages that answer without reading anything: the guard lets the token through either way.
NO_READS = ["/feed", "/suppliers/a%00b", "/dead-letters/not-a-ref"]


async def test_pages_carry_the_security_headers_with_the_token_as_bearer_or_basic_password(
    console: httpx.AsyncClient,
) -> None:
    for path in NO_READS:
        for headers in (BEARER, basic("anyone", TOKEN)):
            response = await console.get(path, headers=headers)
            assert response.headers["content-type"].startswith("text/html"), path
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp
            assert "default-src 'none'" in csp
            assert "frame-ancestors 'none'" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["cache-control"] == "no-store"


async def test_text_with_a_nul_is_refused_before_any_query(console: httpx.AsyncClient) -> None:
    for path, params in (
        ("/tenders", {"q": "a\x00"}),
        ("/suppliers", {"q": "a\x00"}),
        ("/suppliers/S-1", {"tender": "a\x00"}),
        ("/feed", {"tender_id": "a\x00"}),
    ):
        response = await console.get(path, params=params, headers=BEARER)
        assert response.status_code == 422, path


async def test_a_supplier_id_with_a_nul_is_not_found(console: httpx.AsyncClient) -> None:
    nul = await console.get("/suppliers/a%00b", headers=BEARER)
    assert nul.status_code == 404


async def test_a_malformed_dead_letter_ref_is_not_found_and_says_why(
    console: httpx.AsyncClient,
) -> None:
    malformed = await console.get("/dead-letters/not-a-ref", headers=BEARER)
    assert malformed.status_code == 404
    assert "expected &lt;dlt topic&gt;:&lt;partition&gt;:&lt;offset&gt;" in malformed.text


def _tender(id_: str, title: str) -> dict[str, Any]:
    return {
        "id": id_,
        "agency": "UNICEF",
        "reference": "RFQ-1",
        "title": title,
        "status": "published",
        "revision": 1,
        "published_at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    }


async def test_the_tender_search_jumps_to_an_exact_id_and_escapes_titles() -> None:
    hostile = '<script>alert("title")</script> Gowns'
    notices = FakeDatabase(
        lambda sql, args: [_tender(args[0], hostile)] if args[0] == "T/1?x" else []
    )
    async with client_for(app_with(notices=notices)) as console:
        by_id = await console.get("/tenders", params={"q": " T/1?x "}, headers=BEARER)
        nothing = await console.get("/tenders", params={"q": "%_"}, headers=BEARER)
    assert by_id.status_code == 307
    assert by_id.headers["location"] == "/tenders/T%2F1%3Fx"
    assert "0 tender(s)" in nothing.text
    # LIKE's wildcards are searched for literally.
    assert notices.queries[-1][1][:2] == ("%_", "%\\%\\_%")


async def test_the_latest_tenders_show_hostile_titles_as_text() -> None:
    hostile = '<script>alert("title")</script><img src=x onerror=alert(1)> Gowns & "masks"'
    notices = FakeDatabase(lambda sql, args: [_tender("T-1", hostile)])
    async with client_for(app_with(notices=notices)) as console:
        listing = await console.get("/tenders", headers=BEARER)
    assert listing.status_code == 200
    assert "<script>alert" not in listing.text
    assert "<img src=x" not in listing.text
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in listing.text


async def test_a_database_that_fails_gets_the_unavailable_page() -> None:
    notify = FakeDatabase(lambda sql, args: OSError("connection refused"))
    async with client_for(app_with(notify=notify)) as console:
        failures = await console.get("/deliveries/failed", headers=BEARER)
    assert failures.status_code == 503
    assert "OSError: connection refused" in failures.text
    assert "script-src 'self'" in failures.headers["content-security-policy"]


async def test_ready_names_the_database_that_does_not_answer() -> None:
    up = FakeDatabase(lambda sql, args: 1)
    down = FakeDatabase(lambda sql, args: OSError("no route"))
    async with client_for(app_with(notices=up, matching=up, notify=up)) as console:
        ready = await console.get("/ready")
    async with client_for(app_with(notices=up, matching=down, notify=up)) as console:
        degraded = await console.get("/ready")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert degraded.status_code == 503
    assert list(degraded.json()["errors"]) == ["matching"]
