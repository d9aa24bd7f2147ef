"""Composition root: builds the notices app from settings and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenderwire_notices import api
from tenderwire_notices.settings import NoticesSettings
from tenderwire_shared import topics
from tenderwire_shared.db import create_pool, migrate
from tenderwire_shared.http import health_router, install_correlation_ids
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.logging import configure_logging
from tenderwire_shared.outbox import OutboxRelay

SERVICE = "notices"
MIGRATIONS = "tenderwire_notices.migrations"


def create_app(settings: NoticesSettings | None = None) -> FastAPI:
    settings = settings or NoticesSettings()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await migrate(pool, MIGRATIONS)
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            [settings.topic(topics.TENDERS)],
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
        )
        relay = OutboxRelay(pool, settings.kafka_bootstrap_servers, name=SERVICE)
        await relay.start()
        app.state.pool = pool
        app.state.relay = relay
        try:
            yield
        finally:
            await relay.stop()
            await pool.close()

    app = FastAPI(
        title="Tenderwire notices",
        version="0.1.0",
        description="Agencies publish tender notices; every change leaves as a Kafka event.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_correlation_ids(app)
    app.include_router(api.router)
    app.include_router(health_router(lambda: app.state.pool))
    return app
