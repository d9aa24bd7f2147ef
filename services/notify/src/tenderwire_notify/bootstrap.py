"""Composition root: builds the notify app (match consumer + delivery worker) from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenderwire_notify import api, web
from tenderwire_notify.handlers import (
    ACCOUNT_MESSAGES,
    MATCHES,
    SUPPLIERS,
    AccountMessageHandler,
    MatchHandler,
    SupplierHandler,
)
from tenderwire_notify.mailer import EmailChannel, Mailer
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SmsChannel
from tenderwire_notify.workers import DeliveryWorker, DigestScheduler
from tenderwire_shared.broker import Broker
from tenderwire_shared.clock import Clock, SystemClock
from tenderwire_shared.db import create_pool, prepare_database
from tenderwire_shared.http import health_router, install_http
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.logging import ServiceLogContext, configure_logging
from tenderwire_shared.metrics import metrics_router
from tenderwire_shared.openapi import document_answers, install_offline_docs

SERVICE = "notify"
MIGRATIONS = "tenderwire_notify.migrations"

# The answers only some routes give are documented on the routes themselves (the unsubscribe
# pages' 404 and 422 in web.py); the rest (401 and 503 for operator views, 413, 422, 503)
# follows from the route.


def create_app(
    settings: NotifySettings | None = None,
    clock: Clock | None = None,
    broker: Broker | None = None,
) -> FastAPI:
    """The notify app. `broker` lets a test bring its own; notify's consumers are registered
    on it either way."""
    settings = settings or NotifySettings()
    clock = clock or SystemClock()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
    broker = broker or Broker(
        settings.kafka_bootstrap_servers,
        topic=settings.topic,
        stall_after_s=settings.consumer_stall_after_s,
    )
    broker.subscribe(
        MATCHES,
        MatchHandler(clock),
        group=settings.consumer_group,
        max_records=settings.consumer_batch_size,
    )
    broker.subscribe(SUPPLIERS, SupplierHandler(clock), group=settings.suppliers_consumer_group)
    broker.subscribe(
        ACCOUNT_MESSAGES, AccountMessageHandler(clock), group=settings.accounts_consumer_group
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, max_size=settings.db_pool_size)
        await prepare_database(pool, MIGRATIONS, migrate_on_start=settings.migrate_on_start)
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            broker.topics,
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
            async with broker.running(pool):
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
    app.state.broker = broker
    install_http(app, max_body_bytes=settings.max_body_bytes)
    app.include_router(api.deliveries_router)
    app.include_router(api.portal_router)
    app.include_router(web.router)
    app.include_router(api.sms_router)
    app.include_router(api.inbound_router)
    app.include_router(health_router(lambda: app.state.pool, checks=broker.readiness_checks))
    app.include_router(metrics_router())
    install_offline_docs(app)
    document_answers(app)
    # Outermost, so request logs and the lifespan's consumers and workers carry the service.
    app.add_middleware(ServiceLogContext, service=SERVICE)
    return app
