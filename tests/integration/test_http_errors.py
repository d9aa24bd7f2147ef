"""The shared HTTP layer over the real services: every error in the one format, no 5xx for
hostile input, body limits on chunked bodies, 503 while the database is down, bounded error
lines, an OpenAPI that documents every answer, and /docs that works with no internet.

The notices API's refusals that need no database (non-finite numbers, a NUL in a query, a lone
surrogate, a small 422 for a huge body) run in process: services/notices/tests/test_api.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Route, async_playwright, expect

from tenderwire_notices.bootstrap import create_app as notices_app
from tenderwire_notices.settings import NoticesSettings
from tenderwire_stack.http_server import BackgroundServer
from tenderwire_stack.postgres import PostgresCluster
from tests.support.browser import BROWSER_WAIT_MS, CHROMIUM_ARGS, chromium_or_skip
from tests.support.infrastructure import free_port
from tests.support.matching_helpers import supplier
from tests.support.notices_api import Agency, in_days
from tests.support.platform import Platform, create_database
from tests.support.walkthrough import a_notice

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
JSON = {"content-type": "application/json"}
FORM = "application/x-www-form-urlencoded"


@pytest_asyncio.fixture
async def agency(platform: Platform, http: httpx.AsyncClient) -> Agency:
    code, key = await platform.new_agency()
    return Agency(http, platform, code, key)


def url(server: BackgroundServer | None, path: str) -> str:
    assert server is not None
    return f"{server.url}{path}"


def the_error(response: httpx.Response) -> dict[str, Any]:
    """The one error in a body of the one format."""
    body = response.json()
    assert list(body) == ["detail"], body
    (error,) = body["detail"]
    assert set(error) == {"loc", "msg", "type"}, error
    return dict(error)


@pytest.mark.parametrize("number", ["1e400", "NaN"])
async def test_a_non_finite_number_in_a_supplier_is_a_422_naming_the_field(
    platform: Platform, http: httpx.AsyncClient, number: str
) -> None:
    body = json.dumps(supplier(legal_name="@@")).replace('"@@"', number)
    response = await http.post(url(platform.matching, "/v1/suppliers"), content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert the_error(response)["loc"] == ["body", "legal_name"]


async def chunks(total: int, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    """A JSON object of about `total` bytes sent without Content-Length (chunked)."""
    yield b'{"reference": "R", "description": "'
    for _ in range(total // size + 1):
        yield b"x" * size
    yield b'"}'


async def test_a_chunked_body_over_the_limit_is_413_on_every_body_route(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    over_notices = 21 * MiB  # the notices limit is 20 MiB
    targets = [
        (url(platform.notices, "/v1/ocds/release-packages"), over_notices, agency.headers()),
        (url(platform.notices, "/v1/notices"), over_notices, agency.headers()),
        (url(platform.matching, "/v1/suppliers"), 2 * MiB, JSON),  # matching's limit: 1 MiB
        # notify's is 64 KiB: an SMS status callback is a few form fields.
        (url(platform.notify, "/v1/sms/status/D-1"), MiB, {"content-type": FORM}),
    ]
    for target, size, headers in targets:
        response = await http.post(target, content=chunks(size), headers={**JSON, **headers})
        assert response.status_code == 413, (target, response.status_code, response.text[:300])
        assert the_error(response)["loc"] == ["body"]
        assert "larger than" in the_error(response)["msg"]


async def test_matching_refuses_a_declared_oversize_body_without_reading_it(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    response = await http.post(
        url(platform.matching, "/v1/suppliers"), content=b"{" + b" " * (2 * MiB) + b"}"
    )
    assert response.status_code == 413
    assert the_error(response)["type"] == "too_large"


async def test_notice_errors_name_the_field_at_fault(
    platform: Platform, agency: Agency, http: httpx.AsyncClient
) -> None:
    notice = a_notice(deadline=in_days(10))
    published = await agency.publish(notice)
    assert published.status_code == 201, published.text
    notice_id = published.json()["id"]

    unchanged = await agency.amend(notice_id, {"reason": "nothing new"})
    assert unchanged.status_code == 422
    assert the_error(unchanged)["loc"] == ["body"]  # the amendment as a whole, not body.body

    duplicate = await agency.publish(notice)
    assert duplicate.status_code == 409
    assert the_error(duplicate)["loc"] == ["body", "reference"]
    assert the_error(duplicate)["type"] == "conflict"

    early_award = await agency.award(notice_id)
    assert early_award.status_code == 409
    assert the_error(early_award)["loc"] == ["path", "notice_id"]

    missing = await http.get(f"{agency.base}/no-such-notice")
    assert missing.status_code == 404
    assert the_error(missing) == {
        "loc": ["path", "notice_id"],
        "msg": "no notice 'no-such-notice'",
        "type": "not_found",
    }
    no_key = await http.post(agency.base, json=notice)
    assert no_key.status_code == 401
    assert the_error(no_key)["type"] == "unauthorized"
    assert no_key.headers["WWW-Authenticate"] == "Bearer"


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(tmp_path / "notices-pg", free_port())
    cluster.start()
    cluster.create_databases(("notices",))
    try:
        yield cluster
    finally:
        cluster.stop()
        cluster.destroy()


async def test_while_the_notices_database_is_down_the_api_answers_503_with_retry_after(
    platform: Platform, own_postgres: PostgresCluster, http: httpx.AsyncClient
) -> None:
    server = BackgroundServer(
        notices_app(
            NoticesSettings(
                database_url=own_postgres.dsn("notices"),
                kafka_bootstrap_servers=platform.kafka,
                topic_prefix=f"down{platform.topic_prefix}",
            )
        ),
        port=free_port(),
    )
    await server.start()
    try:
        assert (await http.get(f"{server.url}/v1/notices")).status_code == 200
        own_postgres.stop()
        answers = [
            await http.get(f"{server.url}/v1/notices"),
            await http.get(f"{server.url}/v1/notices/T-1"),
            await http.post(
                f"{server.url}/v1/notices", json=a_notice(), headers={"Authorization": "Bearer k"}
            ),
        ]
        for response in answers:
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) > 0
            assert the_error(response) == {
                "loc": [],
                "msg": "the service's database is unavailable; retry later",
                "type": "unavailable",
            }
        assert (await http.get(f"{server.url}/ready")).status_code == 503
    finally:
        own_postgres.start()
        await server.stop()


async def test_a_server_error_is_a_500_in_the_list_shape_and_its_log_lines_are_small(
    platform: Platform, http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # A real fault the input guard cannot prevent: the table the query needs is gone.
    dsn = await create_database(platform.admin_dsn, "notices")
    server = BackgroundServer(
        notices_app(
            NoticesSettings(
                database_url=dsn,
                kafka_bootstrap_servers=platform.kafka,
                topic_prefix=f"fault{platform.topic_prefix}",
            )
        ),
        port=free_port(),
    )
    await server.start()
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("ALTER TABLE notices RENAME TO notices_elsewhere")
        finally:
            await conn.close()
        capsys.readouterr()
        # A big header sits in every frame's locals (the ASGI scope), which is what made
        # one such line hundreds of kilobytes.
        response = await http.get(
            f"{server.url}/v1/notices",
            params={"agency": "UNDP"},
            headers={"X-Correlation-ID": "fault-1", "X-Padding": "A" * 50_000},
        )
        written = capsys.readouterr().err.splitlines()
    finally:
        await server.stop()
    assert response.status_code == 500
    assert the_error(response) == {
        "loc": [],
        "msg": "internal server error; quote correlation id fault-1",
        "type": "internal_error",
    }
    lines = [json.loads(line) for line in written if line.startswith("{")]
    errors = [line for line in lines if line["level"] == "error"]
    assert any(line.get("correlation_id") == "fault-1" for line in errors), lines
    for line in errors:
        text = json.dumps(line)
        assert len(text) < 16_000, len(text)
        assert '"locals"' not in text


async def test_each_openapi_documents_its_security_and_every_error_in_the_one_format(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    expected_schemes = {
        "notices": "AgencyApiKey",
        "matching": "SupplierToken",
        "notify": "OperatorToken",
    }
    for name, scheme in expected_schemes.items():
        spec = (await http.get(url(getattr(platform, name), "/openapi.json"))).json()
        assert spec["components"]["securitySchemes"][scheme]["scheme"] == "bearer"
        for path, item in spec["paths"].items():
            for method, op in item.items():
                answers = op["responses"]
                assert "422" in answers, (name, method, path)
                if "requestBody" in op:
                    assert "413" in answers, (name, method, path)
                if op.get("security"):
                    assert {"401", "404"} & set(answers), (name, method, path)
                for code, answer in answers.items():
                    if code[0] in "45" and "application/json" in answer.get("content", {}):
                        schema = answer["content"]["application/json"]["schema"]
                        assert schema == {"$ref": "#/components/schemas/ErrorResponse"} or (
                            path == "/ready"
                        ), (name, method, path, code)


async def test_docs_render_every_operation_with_no_internet(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    executable = chromium_or_skip()
    blocked: list[str] = []

    async def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await chromium.new_context()
            context.set_default_timeout(BROWSER_WAIT_MS)
            await context.route("**/*", loopback_only)
            page = await context.new_page()
            for server in (platform.notices, platform.matching, platform.notify):
                spec = (await http.get(url(server, "/openapi.json"))).json()
                operations = sum(len(item) for item in spec["paths"].values())
                await page.goto(url(server, "/docs"))
                await expect(page.locator(".opblock")).to_have_count(
                    operations, timeout=BROWSER_WAIT_MS
                )
                await expect(page.locator("button.authorize")).to_be_visible()
            await context.close()
        finally:
            await chromium.close()
    assert blocked == []
