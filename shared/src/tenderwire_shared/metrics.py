"""Prometheus metrics every service exposes at /metrics, with the same names everywhere."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

EVENTS_CONSUMED = Counter(
    "tw_events_consumed_total",
    "Events a consumer handled, by outcome (handled, duplicate, dead_lettered)",
    ["consumer", "event_type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "tw_event_handler_seconds",
    "Time to handle one event, inbox transaction included",
    ["consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter(
    "tw_events_published_total", "Events the outbox relay published", ["topic", "event_type"]
)
OUTBOX_BACKLOG = Gauge(
    "tw_outbox_backlog", "Outbox rows not yet published, as last seen by the relay", ["relay"]
)
DEAD_LETTERS = Counter("tw_dead_letters_total", "Records sent to a dead-letter topic", ["consumer"])
NOTIFICATIONS = Counter(
    "tw_notifications_total", "Deliveries that reached a final state", ["channel", "state"]
)


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
