"""Composition root: builds the matching app (HTTP registry + tender consumer) from settings."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenderwire_matching import api
from tenderwire_matching.handlers import TenderHandlers
from tenderwire_matching.live_index import LiveIndex
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared import topics
from tenderwire_shared.db import create_pool, migrate
from tenderwire_shared.http import health_router, install_http
from tenderwire_shared.inbox import consuming
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.logging import ServiceLogContext, configure_logging
from tenderwire_shared.metrics import metrics_router
from tenderwire_shared.openapi import document_answers, install_offline_docs
from tenderwire_shared.outbox import OutboxRelay

SERVICE = "matching"
MIGRATIONS = "tenderwire_matching.migrations"

_TAKEN = "Another supplier is registered with this e-mail"
# What only some routes answer; the rest (404 for a wrong token, 413, 422, 503) follows.
ANSWERS = {
    "POST /v1/suppliers": {409: _TAKEN},
    "PATCH /v1/suppliers/{supplier_id}": {409: _TAKEN},
}


def create_app(settings: MatchingSettings | None = None) -> FastAPI:
    settings = settings or MatchingSettings()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await migrate(pool, MIGRATIONS)
        tenders_topic = settings.topic(topics.TENDERS)
        live = LiveIndex(settings.code_hierarchy_levels)
        async with pool.acquire() as conn:
            await live.load(conn)
        # A million long-lived profiles would otherwise be walked by every full collection,
        # pausing matching for a second or more; frozen objects are left alone.
        gc.collect()
        gc.freeze()
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            [tenders_topic, settings.topic(topics.MATCHES), settings.topic(topics.SUPPLIERS)],
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
        )
        handler = TenderHandlers(
            live, matches_topic=settings.topic(topics.MATCHES), ldc_first=settings.ldc_first
        )
        relay = OutboxRelay(pool, settings.kafka_bootstrap_servers, name=SERVICE)
        app.state.pool = pool
        try:
            await relay.start()
            async with consuming(
                settings.kafka_bootstrap_servers,
                tenders_topic,
                pool=pool,
                group=settings.consumer_group,
                handler=handler,
            ) as app.state.tenders_consumer:
                yield
        finally:
            await relay.stop()
            await pool.close()

    app = FastAPI(
        title="Tenderwire matching",
        version="0.1.0",
        description="The registry of eligible suppliers, and the engine that matches tenders.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_http(app, max_body_bytes=settings.max_body_bytes)
    app.include_router(api.router)
    app.include_router(
        health_router(lambda: app.state.pool, checks=lambda: [app.state.tenders_consumer.readiness])
    )
    app.include_router(metrics_router())
    install_offline_docs(app)
    document_answers(app, ANSWERS)
    # Outermost, so request logs and the lifespan's consumers and workers carry the service.
    app.add_middleware(ServiceLogContext, service=SERVICE)
    return app
