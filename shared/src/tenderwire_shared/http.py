"""HTTP pieces every service's FastAPI app shares: correlation ids and health probes."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

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


def health_router(pool: Callable[[], asyncpg.Pool]) -> APIRouter:
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
        return JSONResponse({"status": "ready"})

    return router
