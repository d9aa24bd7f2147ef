"""Composition root: builds the notices app from settings (and, in tests, a clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tenderwire_notices import api
from tenderwire_notices.handlers import COMMANDS, CommandHandler
from tenderwire_notices.services import Context
from tenderwire_notices.settings import NoticesSettings
from tenderwire_notices.web import pages
from tenderwire_notices.workers import DeadlineCloser, FeedPoller
from tenderwire_shared import topics
from tenderwire_shared.broker import Broker
from tenderwire_shared.clock import Clock, SystemClock
from tenderwire_shared.db import create_pool, prepare_database
from tenderwire_shared.http import health_router, install_http
from tenderwire_shared.kafka_admin import ensure_topics
from tenderwire_shared.logging import ServiceLogContext, configure_logging
from tenderwire_shared.metrics import metrics_router
from tenderwire_shared.openapi import document_answers, install_offline_docs
from tenderwire_shared.outbox import OutboxRelay

SERVICE = "notices"
MIGRATIONS = "tenderwire_notices.migrations"

_NO_NOTICE = "No notice with this id (for this agency)"
_NOT_NOW = "The notice's state does not allow this step (a closed notice cannot be amended, ...)"
# What only some routes answer; the rest (401, 413, 422, 503) follows from the route.
ANSWERS = {
    "POST /v1/notices": {409: "This agency already has a notice with this reference"},
    "POST /v1/notices/{notice_id}/amendments": {404: _NO_NOTICE, 409: _NOT_NOW},
    "POST /v1/notices/{notice_id}/cancellation": {404: _NO_NOTICE, 409: _NOT_NOW},
    "POST /v1/notices/{notice_id}/award": {404: _NO_NOTICE, 409: _NOT_NOW},
    "GET /v1/notices/{notice_id}": {404: _NO_NOTICE},
    "GET /v1/notices/{notice_id}/ocds/release-package": {404: _NO_NOTICE},
    "GET /v1/notices/{notice_id}/ocds/record": {404: _NO_NOTICE},
}


def create_app(
    settings: NoticesSettings | None = None,
    clock: Clock | None = None,
    broker: Broker | None = None,
) -> FastAPI:
    """The notices app. `broker` lets a test bring its own; the app registers its consumer on
    it either way."""
    settings = settings or NoticesSettings()
    clock = clock or SystemClock()
    configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)

    def context(correlation_id: str | None = None) -> Context:
        return Context(
            tenders_topic=settings.topic(topics.TENDERS),
            public_base_url=settings.public_base_url,
            clock=clock,
            correlation_id=correlation_id,
        )

    broker = broker or Broker(
        settings.kafka_bootstrap_servers,
        topic=settings.topic,
        stall_after_s=settings.consumer_stall_after_s,
    )
    broker.subscribe(COMMANDS, CommandHandler(context), group=settings.commands_consumer_group)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await prepare_database(pool, MIGRATIONS, migrate_on_start=settings.migrate_on_start)
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            [settings.topic(topics.TENDERS), *broker.topics],
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
        )
        relay = OutboxRelay(pool, settings.kafka_bootstrap_servers, name=SERVICE)
        closer = DeadlineCloser(pool, context, interval_s=settings.closer_interval_s)
        poller = FeedPoller(
            pool, context, settings.feed_limits(), interval_s=settings.feed_poll_interval_s
        )
        app.state.pool = pool
        try:
            await relay.start()
            await closer.start()
            await poller.start()
            async with broker.running(pool):
                yield
        finally:
            await poller.stop()
            await closer.stop()
            await relay.stop()
            await pool.close()

    app = FastAPI(
        title="Tenderwire notices",
        version="0.2.0",
        description=(
            "Agencies publish tender notices and their lifecycle (amended, closed, awarded,"
            " cancelled); every change leaves as a Kafka event. Authenticate with"
            " `Authorization: Bearer <API key>`; retry any POST safely with `Idempotency-Key`."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    install_http(app, max_body_bytes=settings.max_body_bytes)
    api.install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(api.ocds_router)
    app.include_router(pages.router)
    app.include_router(health_router(lambda: app.state.pool, checks=broker.readiness_checks))
    app.include_router(metrics_router())
    install_offline_docs(app)
    document_answers(app, ANSWERS)
    # Outermost, so request logs and the lifespan's consumers and workers carry the service.
    app.add_middleware(ServiceLogContext, service=SERVICE)
    return app
