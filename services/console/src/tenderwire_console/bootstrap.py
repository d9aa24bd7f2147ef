"""Composition root: builds the operators' web console from settings.

The console only reads. It holds a small pool per service database (which may be a read-only
replica) and opens Kafka clients per page or per live-feed stream; it owns no topic, no
consumer group and no migration.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tenderwire_console.dependencies import Pools
from tenderwire_console.settings import ConsoleSettings
from tenderwire_console.web import feed, pages, probes
from tenderwire_shared.api_errors import DATABASE_UNAVAILABLE
from tenderwire_shared.http import install_http
from tenderwire_shared.logging import ServiceLogContext, configure_logging
from tenderwire_shared.metrics import metrics_router

SERVICE = "console"
# Every statement the console sends runs in a read-only transaction, even against a primary.
_READ_ONLY = {"default_transaction_read_only": "on", "application_name": "tenderwire console"}


async def _pool(dsn: str) -> asyncpg.Pool:
    # min_size=0: connect on first use, so the console starts, and helps, while a database
    # is down; the pages that need it say so.
    pool = await asyncpg.create_pool(dsn, min_size=0, max_size=4, server_settings=_READ_ONLY)
    assert pool is not None
    return pool


async def _stop_feeds(app: FastAPI) -> None:
    pumps: set[asyncio.Task[None]] = app.state.feed_pumps
    for pump in list(pumps):
        pump.cancel()
    await asyncio.gather(*pumps, return_exceptions=True)


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as opened:
            pools = []
            for dsn in (
                settings.notices_database_url,
                settings.matching_database_url,
                settings.notify_database_url,
            ):
                pools.append(await _pool(dsn))
                opened.push_async_callback(pools[-1].close)
            app.state.pools = Pools(*pools)
            opened.push_async_callback(_stop_feeds, app)
            yield

    app = FastAPI(
        title="Tenderwire console",
        version="0.1.0",
        description="Read-only operators' console: live events, tender timelines, suppliers,"
        " delivery failures, dead letters and consumer lag.",
        lifespan=lifespan,
        # Pages, not an API: the `tw` command line is what scripts use.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.feed_pumps = set()
    # No input guard: the pages answer an unusable id with the page a person can read ("no
    # such supplier"), and their text filters refuse NUL themselves.
    install_http(app, max_body_bytes=settings.max_body_bytes, guard_input=False)
    app.include_router(probes.router)
    app.include_router(metrics_router())
    app.include_router(pages.router)
    # An operator's browser gets a page saying which database is down, not a JSON 503.
    for error in (*pages.UNAVAILABLE, *DATABASE_UNAVAILABLE):
        app.add_exception_handler(error, pages.unavailable)
    app.include_router(feed.router)
    app.mount("/static", StaticFiles(packages=[("tenderwire_console.web", "static")]), "static")
    # Outermost, so request logs and the feed's Kafka tails carry the service.
    app.add_middleware(ServiceLogContext, service=SERVICE)
    return app
