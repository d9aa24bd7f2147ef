"""The one error format, rendered by `install_http` for whatever an app raises or is sent."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, field_validator

from tenderwire_shared.api_errors import MAX_ERRORS, RETRY_AFTER_S, ApiError
from tenderwire_shared.http import install_http
from tenderwire_shared.logging import configure_logging

LIMIT = 64 * 1024


class Draft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str
    amount: float | None = None
    codes: list[int] = []
    description: str = ""

    @field_validator("reference")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        if " " in value:
            raise ValueError("must not contain spaces")
        return value


def make_app() -> FastAPI:
    app = FastAPI()
    install_http(app, max_body_bytes=LIMIT)

    @app.post("/drafts")
    async def create(draft: Draft) -> dict[str, str]:
        return {"reference": draft.reference}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/drafts")
    async def list_drafts() -> list[str]:
        return []

    @app.get("/search")
    async def search(agency: str | None = None) -> dict[str, str | None]:
        return {"agency": agency}

    @app.get("/things/{thing_id}")
    async def thing(thing_id: Annotated[str, Path(max_length=100)]) -> dict[str, str]:
        if thing_id == "missing":
            raise ApiError.one(404, ("path", "thing_id"), "no such thing", "not_found")
        if thing_id == "taken":
            raise HTTPException(409, "that thing is taken")
        return {"id": thing_id}

    @app.get("/database-down")
    async def database_down() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    @app.get("/database-starting")
    async def database_starting() -> None:
        raise asyncpg.CannotConnectNowError("the database system is starting up")

    @app.get("/bug")
    async def bug() -> None:
        secret_payload = "S" * 1_000_000  # noqa: F841 - a local no log line may show
        raise RuntimeError("something broke")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("tests", stream=stream)
    yield stream
    configure_logging("tests")


def only_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert list(body) == ["detail"]
    (error,) = body["detail"]
    assert set(error) == {"loc", "msg", "type"}
    return dict(error)


async def test_an_api_error_is_the_detail_list_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/things/missing")
    assert response.status_code == 404
    assert only_error(response) == {
        "loc": ["path", "thing_id"],
        "msg": "no such thing",
        "type": "not_found",
    }


async def test_a_string_http_exception_and_an_unknown_route_answer_in_the_list_shape(
    client: httpx.AsyncClient,
) -> None:
    taken = await client.get("/things/taken")
    assert taken.status_code == 409
    assert only_error(taken) == {"loc": [], "msg": "that thing is taken", "type": "conflict"}
    unknown = await client.get("/nowhere")
    assert unknown.status_code == 404
    assert only_error(unknown)["type"] == "not_found"
    wrong_method = await client.delete("/search")
    assert wrong_method.status_code == 405
    assert only_error(wrong_method)["type"] == "method_not_allowed"


async def test_a_validator_message_has_no_value_error_prefix(client: httpx.AsyncClient) -> None:
    response = await client.post("/drafts", json={"reference": "has spaces"})
    assert response.status_code == 422
    assert only_error(response) == {
        "loc": ["body", "reference"],
        "msg": "must not contain spaces",
        "type": "value_error",
    }


async def test_a_422_never_echoes_a_huge_input(client: httpx.AsyncClient) -> None:
    huge = "x" * (LIMIT - 100)
    response = await client.post("/drafts", json={"reference": 1, "description": [huge]})
    assert response.status_code == 422
    assert len(response.content) < 2_000
    assert huge[:100] not in response.text


async def test_a_422_lists_a_bounded_number_of_errors_with_bounded_locations(
    client: httpx.AsyncClient,
) -> None:
    many = await client.post("/drafts", json={"reference": "r", "codes": ["x"] * 5_000})
    assert many.status_code == 422
    detail = many.json()["detail"]
    assert len(detail) == MAX_ERRORS + 1
    assert detail[-1] == {"loc": [], "msg": "and 4980 more errors", "type": "too_many_errors"}
    long_key = "k" * 50_000
    unknown_field = await client.post("/drafts", json={"reference": "r", long_key: 1})
    assert unknown_field.status_code == 422
    assert len(unknown_field.content) < 1_000


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ('{"reference": 1e400}', ["body", "reference"]),
        ('{"reference": "r", "amount": NaN}', ["body", "amount"]),
        ('{"reference": "r", "amount": -Infinity}', ["body", "amount"]),
        ('{"reference": "r", "codes": [1, 2, 1e999]}', ["body", "codes", 2]),
    ],
)
async def test_a_non_finite_number_is_refused_naming_the_field(
    client: httpx.AsyncClient, body: str, loc: list[Any]
) -> None:
    response = await client.post(
        "/drafts", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert only_error(response) == {
        "loc": loc,
        "msg": "must be a finite number (no NaN, no Infinity)",
        "type": "finite_number",
    }


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        (b"\xff\xfe{", "the body is not UTF-8"),
        (b'{"reference": "\xff"}', "the body is not UTF-8"),
        (b"[" * 30_000 + b"]" * 30_000, "the body is nested too deeply"),
    ],
)
async def test_a_body_that_cannot_be_decoded_is_a_422_naming_the_body(
    client: httpx.AsyncClient, body: bytes, msg: str
) -> None:
    response = await client.post(
        "/drafts", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert only_error(response) == {"loc": ["body"], "msg": msg, "type": "json_invalid"}


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "line\nbreak", "\x1b[31m", "\x7f"])
async def test_control_characters_in_a_query_parameter_are_refused_naming_it(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.get("/search", params={"agency": value})
    assert response.status_code == 422
    assert only_error(response) == {
        "loc": ["query", "agency"],
        "msg": "must not contain control characters",
        "type": "control_characters",
    }


async def test_a_nul_in_a_path_parameter_is_refused_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/things/a%00b")
    assert response.status_code == 422
    assert only_error(response)["loc"] == ["path", "thing_id"]


async def test_ordinary_text_passes_the_guard(client: httpx.AsyncClient) -> None:
    response = await client.get("/search", params={"agency": "UNDP Côte d'Ivoire"})
    assert response.status_code == 200


async def _chunks(total: int, size: int = 8192) -> AsyncIterator[bytes]:
    sent = 0
    yield b'{"reference": "r", "description": "'
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@pytest.mark.parametrize("path", ["/drafts", "/raw"])
async def test_a_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(
        path, content=_chunks(LIMIT * 2), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert only_error(response) == {
        "loc": ["body"],
        "msg": f"the request body is larger than {LIMIT} bytes",
        "type": "too_large",
    }


async def test_a_declared_length_over_the_limit_is_413_before_reading(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/raw", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert only_error(response)["type"] == "too_large"


async def test_a_body_within_the_limit_is_read_whole(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/raw", content=_chunks(LIMIT // 2), headers={"content-type": "text/plain"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/database-down", "/database-starting"])
async def test_a_database_outage_is_503_with_retry_after(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    assert only_error(response)["type"] == "unavailable"


async def test_an_unexpected_error_is_a_500_in_the_list_shape_and_one_bounded_line(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    response = await client.get("/bug", headers={"X-Correlation-ID": "cid-123"})
    assert response.status_code == 500
    assert only_error(response) == {
        "loc": [],
        "msg": "internal server error; quote correlation id cid-123",
        "type": "internal_error",
    }
    (line,) = [
        json.loads(text)
        for text in log_lines.getvalue().splitlines()
        if "http_unhandled_error" in text
    ]
    raw = json.dumps(line)
    assert len(raw) < 16_000
    assert "SSSSSSSSSS" not in raw
    assert '"locals"' not in raw
    assert line["correlation_id"] == "cid-123"
    assert line["error"] == "RuntimeError: something broke"


async def test_a_405_lists_every_method_the_path_allows_not_only_the_first_routes(
    client: httpx.AsyncClient,
) -> None:
    # GET and POST /drafts are two routes; Starlette's own Allow named only POST.
    response = await client.request("OPTIONS", "/drafts")

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert response.json()["detail"][0]["type"] == "method_not_allowed"
