"""Only the operators' token opens operator views, by Bearer or by Basic auth."""

from __future__ import annotations

import base64

import httpx
import pytest
from fastapi import Depends, FastAPI
from pydantic import SecretStr

from tenderwire_shared.api_errors import install_api_errors
from tenderwire_shared.operators import require_operator


def _app(token: SecretStr | None) -> FastAPI:
    app = FastAPI()
    install_api_errors(app)

    @app.get("/ops", dependencies=[Depends(require_operator(lambda _: token))])
    async def ops() -> dict[str, str]:
        return {"ok": "yes"}

    return app


async def _status(token: SecretStr | None, authorization: str | None) -> int:
    # Latin-1, as a header carries any byte and Starlette reads it so.
    headers = {b"Authorization": authorization.encode("latin-1")} if authorization else {}
    transport = httpx.ASGITransport(app=_app(token))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return (await client.get("/ops", headers=headers)).status_code


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        ("Bearer s3cret", 200),
        (_basic("alice", "s3cret"), 200),
        ("Bearer wrong", 401),
        (_basic("alice", "wrong"), 401),
        ("Basic !!!not-base64", 401),
        ("Basic \xff\xfe", 401),
        ("Basic " + base64.b64encode(b"alice:\xff").decode(), 401),
        (None, 401),
    ],
)
async def test_only_the_token_opens(authorization: str | None, expected: int) -> None:
    assert await _status(SecretStr("s3cret"), authorization) == expected


async def test_closed_when_no_token_is_configured() -> None:
    assert await _status(None, "Bearer anything") == 503
    assert await _status(SecretStr(""), "Bearer ") == 503
