"""HTTP pieces every service's FastAPI app shares: correlation ids and health probes."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenderwire_shared.envelope import new_event_id

CORRELATION_HEADER = "X-Correlation-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = structlog.get_logger()


def correlation_id(request: Request) -> str:
    value: str = request.state.correlation_id
    return value


def install_correlation_ids(app: FastAPI) -> None:
    """Take the caller's X-Correlation-ID (or make one), log with it, and echo it back."""

    @app.middleware("http")
    async def _correlate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        supplied = request.headers.get(CORRELATION_HEADER, "")
        cid = supplied if _SAFE_ID.match(supplied) else new_event_id()
        request.state.correlation_id = cid
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(correlation_id=cid):
            response = await call_next(request)
            log.info(
                "http_request",
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        response.headers[CORRELATION_HEADER] = cid
        return response


ReadinessCheck = Callable[[], str | None]
"""Returns None when healthy, or a short description of what is wrong (it makes /ready 503)."""


def health_router(
    pool: Callable[[], asyncpg.Pool], checks: Callable[[], Sequence[ReadinessCheck]] = tuple
) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", response_model=None)
    async def ready() -> Response:
        try:
            await pool().fetchval("SELECT 1")
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "error": repr(exc)}, status_code=503)
        problems = [problem for check in checks() if (problem := check()) is not None]
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    return router


class BodyTooLargeError(Exception):
    pass


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413 before they fill memory.

    Checks Content-Length up front and counts the bytes of chunked bodies as they arrive.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLargeError
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLargeError:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"request body is larger than {self.max_bytes} bytes"},
            status_code=413,
        )
        await response(scope, receive, send)
