"""What the request log keeps of a path: everything but a credential in it."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from structlog.testing import capture_logs

from tenderwire_shared.http import install_correlation_ids


def an_app() -> FastAPI:
    app = FastAPI()
    install_correlation_ids(app)

    @app.get("/v1/unsubscribe/{token}")
    async def page(token: str) -> dict[str, str]:
        return {"ok": token[:1]}

    @app.get("/v1/notices/{notice_id}")
    async def notice(notice_id: str) -> dict[str, str]:
        return {"id": notice_id}

    return app


async def test_an_unsubscribe_token_never_reaches_the_log() -> None:
    signed = ".eJyrVkrOz0tLTS5RslIKzs8tSMzJzMsvdXAyNjA01zFRslIqzk3NUaoFAKhvCw8.sig"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=an_app()), base_url="http://t"
    ) as http:
        with capture_logs() as logs:
            assert (await http.get(f"/v1/unsubscribe/{signed}")).status_code == 200
            assert (await http.get("/v1/notices/n-42")).status_code == 200
    paths = [entry["path"] for entry in logs if entry["event"] == "http_request"]
    assert paths == ["/v1/unsubscribe/{token}", "/v1/notices/n-42"]
    assert not any(signed in str(entry) for entry in logs)
