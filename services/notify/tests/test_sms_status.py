"""The status callback: only with the provider's X-Twilio-Signature (checked against Twilio's
documented example, and refused before the database is asked); while the database is
unavailable, 503 with Retry-After, quickly, so the provider retries; and 204 without touching
the database for statuses that change nothing.

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
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from tenderwire_notify import api, sms
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SmsProvider, status_callback_url
from tenderwire_shared.api_errors import ApiError
from tenderwire_shared.settings import Environment
from tests.support.infrastructure import free_port

# Where the provider calls: the proxy in front of notify, not the address notify listens on.
PUBLIC_URL = "https://notify.example.org/tenderwire"
TOKENS = {"primary": "primary-auth-token", "secondary": "secondary-auth-token"}
SETTINGS = NotifySettings(
    environment=Environment.TEST,
    public_base_url=PUBLIC_URL,
    sms_providers=[
        SmsProvider(
            name=name,
            base_url="https://sms.example.org",
            account_sid=f"AC{name}",
            auth_token=SecretStr(token),
            sender="TENDERS",
        )
        for name, token in TOKENS.items()
    ],
)


async def _render(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=dict(exc.headers))


def an_app(pool: object) -> FastAPI:
    app = FastAPI()
    app.include_router(api.sms_router)
    # The services render ApiError through tenderwire_shared's handler; this is its contract.
    app.add_exception_handler(ApiError, _render)
    app.state.pool = pool
    app.state.settings = SETTINGS
    return app


def signed_url(provider: str = "primary", delivery_id: str = "d-1") -> str:
    configured = SETTINGS.provider(provider)
    assert configured is not None
    return status_callback_url(PUBLIC_URL, configured, delivery_id)


async def callback(
    app: FastAPI,
    status: str = "delivered",
    *,
    provider: str = "primary",
    token: str | None = None,
    signature: str | None = None,
    signed_as: str | None = None,
) -> httpx.Response:
    """A callback as `provider` sends it, signed with `token` (its own by default) over
    `signed_as` (the URL notify gave it by default), or carrying `signature` as given."""
    form = {"MessageSid": "SM1", "MessageStatus": status}
    url = signed_url(provider)
    if signature is None:
        signature = sms.twilio_signature(token or TOKENS[provider], signed_as or url, form.items())
    path = url.removeprefix(PUBLIC_URL)
    transport = httpx.ASGITransport(app=app)
    # notify itself is reached at an internal address, as behind a proxy.
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8000") as client:
        return await client.post(
            path, data=form, headers={sms.SIGNATURE_HEADER: signature} if signature else {}
        )


def test_the_signature_is_twilios_on_its_documented_example() -> None:
    # twilio.com/docs/usage/webhooks/webhooks-security, the worked example.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }

    assert sms.twilio_signature("12345", url, params.items()) == ("GvWf1cFY/Q7PnoempGyD5oXAezc=")


def test_the_parameters_are_signed_sorted_by_name_whatever_order_they_came_in() -> None:
    one = sms.twilio_signature("t", "https://x.org/cb", [("b", "2"), ("a", "1")])
    other = sms.twilio_signature("t", "https://x.org/cb", [("a", "1"), ("b", "2")])

    assert one == other
    assert sms.signature_matches("t", "https://x.org/cb", [("b", "2"), ("a", "1")], one)
    assert not sms.signature_matches("t", "https://x.org/cb", [("a", "2")], one)
    assert not sms.signature_matches("t", "https://x.org/cb", [], "é-not-base64")


class RecordingPool:
    def __init__(self) -> None:
        self.calls = 0

    async def fetchval(self, *args: Any) -> Any:
        self.calls += 1
        return True


async def test_a_callback_signed_with_its_providers_token_over_the_public_url_is_applied() -> None:
    pool = RecordingPool()

    response = await callback(an_app(pool))

    assert response.status_code == 204
    assert pool.calls == 1


@pytest.mark.parametrize(
    ("case", "kwargs", "field"),
    [
        ("unsigned", {"signature": ""}, ["header", "X-Twilio-Signature"]),
        ("forged", {"signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, ["header", "X-Twilio-Signature"]),
        (
            "other provider's token",
            {"token": TOKENS["secondary"]},
            ["header", "X-Twilio-Signature"],
        ),
        (
            "signed over the address notify sees",
            {"signed_as": "http://10.0.0.7:8000/v1/sms/status/d-1?provider=primary"},
            ["header", "X-Twilio-Signature"],
        ),
        (
            "signed for another delivery",
            {"signed_as": f"{PUBLIC_URL}/v1/sms/status/d-2?provider=primary"},
            ["header", "X-Twilio-Signature"],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_a_callback_without_its_providers_signature_is_refused_before_the_database(
    case: str, kwargs: dict[str, str], field: list[str]
) -> None:
    pool = RecordingPool()

    response = await callback(an_app(pool), **kwargs)

    assert response.status_code == 403, case
    assert [e["loc"] for e in response.json()["detail"]] == [field]
    assert pool.calls == 0


async def test_a_callback_naming_no_configured_provider_is_refused() -> None:
    pool = RecordingPool()
    transport = httpx.ASGITransport(app=an_app(pool))
    async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
        for query in ("", "?provider=nobody"):
            form = {"MessageStatus": "delivered"}
            url = f"{PUBLIC_URL}/v1/sms/status/d-1{query}"
            response = await client.post(
                f"/v1/sms/status/d-1{query}",
                data=form,
                headers={"X-Twilio-Signature": sms.twilio_signature("x", url, form.items())},
            )

            assert response.status_code == 403
            assert response.json()["detail"][0]["loc"] == ["query", "provider"]
    assert pool.calls == 0


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
    monkeypatch.setattr(api, "DATABASE_WAIT_S", 0.5)
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
