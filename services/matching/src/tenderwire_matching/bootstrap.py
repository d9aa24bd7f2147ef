"""Composition root: builds the matching app (HTTP registry + tender consumer) from settings."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenderwire_matching import api
from tenderwire_matching.handlers import INTERFACE, TENDERS, TenderHandlers
from tenderwire_matching.live_index import LiveIndex
from tenderwire_matching.portal.web import install_portal
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared import topics
from tenderwire_shared.broker import Broker
from tenderwire_shared.db import create_pool, prepare_database
from tenderwire_shared.http import health_router, install_http
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


def create_app(settings: MatchingSettings | None = None, broker: Broker | None = None) -> FastAPI:
    """The matching app; tests may pass their own `broker`."""
    settings = settings or MatchingSettings()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
    broker = broker or Broker(
        settings.kafka_bootstrap_servers,
        topic=settings.topic,
        stall_after_s=settings.consumer_stall_after_s,
    )
    live = LiveIndex(settings.code_hierarchy_levels, settings.cpv_levels)
    broker.subscribe(
        TENDERS,
        TenderHandlers(
            live, matches_topic=settings.topic(topics.MATCHES), ldc_first=settings.ldc_first
        ),
        group=settings.consumer_group,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await prepare_database(pool, MIGRATIONS, migrate_on_start=settings.migrate_on_start)
        async with pool.acquire() as conn:
            await live.load(conn)
        # A million long-lived profiles would otherwise be walked by every full collection,
        # pausing matching for a second or more; frozen objects are left alone.
        gc.collect()
        gc.freeze()
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            [*broker.topics, *(settings.topic(p.topic) for p in INTERFACE.publications)],
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
        )
        relay = OutboxRelay(pool, settings.kafka_bootstrap_servers, name=SERVICE)
        app.state.pool = pool
        try:
            await relay.start()
            async with broker.running(pool):
                yield
        finally:
            await relay.stop()
            await pool.close()
            # Made by the portal on first use (`portal.web.alerts.notify_api`).
            notify_http = getattr(app.state, "notify_http", None)
            if notify_http is not None:
                await notify_http.aclose()

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
    install_portal(app)
    app.include_router(health_router(lambda: app.state.pool, checks=broker.readiness_checks))
    app.include_router(metrics_router())
    install_offline_docs(app)
    document_answers(app, ANSWERS)
    # Outermost, so request logs and the lifespan's consumers and workers carry the service.
    app.add_middleware(ServiceLogContext, service=SERVICE)
    return app
