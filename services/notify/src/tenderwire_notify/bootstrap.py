"""Composition root: builds the notify app (match consumer + delivery worker) from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenderwire_notify import api, web
from tenderwire_notify.handlers import MatchHandler, on_supplier_event
from tenderwire_notify.mailer import EmailChannel, Mailer
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SmsChannel
from tenderwire_notify.workers import DeliveryWorker, DigestScheduler
from tenderwire_shared import topics
from tenderwire_shared.clock import Clock, SystemClock
from tenderwire_shared.db import create_pool, migrate
from tenderwire_shared.http import health_router, install_http
from tenderwire_shared.inbox import consuming, consuming_batches
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.logging import ServiceLogContext, configure_logging
from tenderwire_shared.metrics import metrics_router
from tenderwire_shared.openapi import document_answers, install_offline_docs

SERVICE = "notify"
MIGRATIONS = "tenderwire_notify.migrations"

# A page for a person who followed a link, not an error body for a program.
_LINK_NOT_RECOGNISED = {
    "description": "The unsubscribe link is not valid (an HTML page says so)",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
# What only some routes answer; the rest (401 and 503 for operator views, 413, 422, 503)
# follows from the route.
ANSWERS = {
    "GET /v1/unsubscribe/{token}": {400: _LINK_NOT_RECOGNISED},
    "POST /v1/unsubscribe/{token}": {400: _LINK_NOT_RECOGNISED},
}


def create_app(settings: NotifySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    clock = clock or SystemClock()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, max_size=settings.db_pool_size)
        await migrate(pool, MIGRATIONS)
        matches_topic = settings.topic(topics.MATCHES)
        suppliers_topic = settings.topic(topics.SUPPLIERS)
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            [matches_topic, suppliers_topic],
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
        )
        sms = SmsChannel(
            settings.sms_providers,
            settings.public_base_url,
            settings.sms_timeout_s,
            lanes=settings.sms_lanes,
            clock=clock,
            breaker=settings.breaker,
        )
        mailer = Mailer(settings)
        email = EmailChannel(settings, mailer, clock)
        digests = DigestScheduler(pool, settings, clock)
        worker = DeliveryWorker(pool, [email, sms], settings, clock)
        app.state.pool = pool
        try:
            await worker.start()
            await digests.start()
            async with (
                consuming_batches(
                    settings.kafka_bootstrap_servers,
                    matches_topic,
                    pool=pool,
                    group=settings.consumer_group,
                    handler=MatchHandler(clock),
                    max_records=settings.consumer_batch_size,
                ) as app.state.matches_consumer,
                consuming(
                    settings.kafka_bootstrap_servers,
                    suppliers_topic,
                    pool=pool,
                    group=f"{settings.consumer_group}-suppliers",
                    handler=on_supplier_event,
                ) as app.state.suppliers_consumer,
            ):
                yield
        finally:
            await digests.stop()
            await worker.stop()
            await sms.close()
            await mailer.close()
            await pool.close()

    app = FastAPI(
        title="Tenderwire notify",
        version="0.1.0",
        description="Sends each match to its supplier once, through the delivery ledger.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_http(app, max_body_bytes=settings.max_body_bytes)
    app.include_router(api.deliveries_router)
    app.include_router(web.router)
    app.include_router(api.sms_router)
    app.include_router(
        health_router(
            lambda: app.state.pool,
            checks=lambda: [
                app.state.matches_consumer.readiness,
                app.state.suppliers_consumer.readiness,
            ],
        )
    )
    app.include_router(metrics_router())
    install_offline_docs(app)
    document_answers(app, ANSWERS)
    # Outermost, so request logs and the lifespan's consumers and workers carry the service.
    app.add_middleware(ServiceLogContext, service=SERVICE)
    return app
