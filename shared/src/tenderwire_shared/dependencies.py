"""FastAPI dependencies every service shares: its pool and its clock, from the app's state.

`bootstrap.create_app` puts them there; tests swap either through `app.dependency_overrides`.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from tenderwire_shared.clock import Clock


def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


Pool = Annotated[asyncpg.Pool, Depends(get_pool)]
AppClock = Annotated[Clock, Depends(get_clock)]
