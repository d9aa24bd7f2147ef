"""Liveness and readiness, open to the load balancer: ready when all three databases answer."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tenderwire_console.dependencies import Databases

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(db: Databases) -> JSONResponse:
    # Kafka is left out: the console's database pages still help while Kafka is down.
    names = ("notices", "matching", "notify")
    answers = await asyncio.gather(
        *(getattr(db, name).fetchval("SELECT 1") for name in names), return_exceptions=True
    )
    failed = {
        name: repr(answer)
        for name, answer in zip(names, answers, strict=True)
        if isinstance(answer, BaseException)
    }
    if failed:
        return JSONResponse({"status": "unavailable", "errors": failed}, status_code=503)
    return JSONResponse({"status": "ready"})
