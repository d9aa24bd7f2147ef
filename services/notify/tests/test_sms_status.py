"""The status callback while the database is unavailable: 503 with Retry-After, quickly, so
the provider retries; and 204 without touching the database for statuses that change nothing.

The refused and silent servers are real sockets; the asyncpg errors a live server sends while
it shuts down or restarts come from a stand-in pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tenderwire_notify import sms_status
from tests.infrastructure import free_port


def an_app(pool: object) -> FastAPI:
    app = FastAPI()
    app.include_router(sms_status.router)
    app.state.pool = pool
    return app


async def callback(app: FastAPI, status: str = "delivered") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
        return await client.post(
            "/v1/sms/status/d-1", data={"MessageSid": "SM1", "MessageStatus": status}
        )


class FailingPool:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    async def fetchval(self, *args: Any) -> Any:
        self.calls += 1
        raise self.error


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in response.text


async def test_a_refused_database_gets_503_with_retry_after() -> None:
    nothing_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/notify"
    pool = await asyncpg.create_pool(nothing_listens, min_size=0, max_size=2)
    try:
        assert_retry_later(await callback(an_app(pool)))
    finally:
        await pool.close()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A server that accepts connections and never answers, like a host that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    port = free_port()
    server = await asyncio.start_server(hold, "127.0.0.1", port)
    yield port
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_database_that_never_answers_gets_503_instead_of_a_hung_callback(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short, so the test does not wait out the default; what is checked is the answer.
    monkeypatch.setattr(sms_status, "DATABASE_WAIT_S", 0.5)
    pool = await asyncpg.create_pool(
        f"postgresql://postgres@127.0.0.1:{silent_server}/notify", min_size=0, max_size=1
    )
    try:
        assert_retry_later(await callback(an_app(pool)))
    finally:
        pool.terminate()


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        ConnectionResetError("reset by peer"),
        TimeoutError(),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_each_way_the_database_can_be_away_gets_503(error: BaseException) -> None:
    assert_retry_later(await callback(an_app(FailingPool(error))))


@pytest.mark.parametrize("status", ["queued", "sending", "accepted", "read-by-martians"])
async def test_statuses_that_change_nothing_get_204_without_the_database(status: str) -> None:
    pool = FailingPool(ConnectionRefusedError())

    response = await callback(an_app(pool), status)

    assert response.status_code == 204
    assert pool.calls == 0


async def test_a_programming_error_is_not_disguised_as_an_outage() -> None:
    with pytest.raises(asyncpg.UndefinedColumnError):
        await callback(an_app(FailingPool(asyncpg.UndefinedColumnError("no column"))))
