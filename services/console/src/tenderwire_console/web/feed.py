"""The live event feed: a page, and the server-sent event stream its script reads.

Each open stream tails Kafka with its own group-less consumer. A pump task moves events from
the consumer to a queue, so the response can send keep-alives while Kafka is quiet; when the
browser goes away the response is cancelled, cancels the pump, and the consumer closes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from functools import partial
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from prometheus_client import Gauge

from tenderwire_console.dependencies import Settings, operators_only
from tenderwire_console.read_models.event_feed import MAIN_TOPICS, FeedEvent, FeedFilter, follow
from tenderwire_console.web.rendering import SECURITY_HEADERS, page, utc
from tenderwire_shared.masking import mask_contacts

log = structlog.get_logger()

FEED_STREAMS = Gauge("tw_console_feed_streams", "Live feed streams tailing Kafka right now")

# Proxies drop a connection that says nothing for a minute or so; a comment line keeps it open
# and, once the browser is gone, makes the write fail.
KEEPALIVE_S = 15.0
RECONNECT_MS = 3000
QUEUE_SIZE = 500
# What the topic menu offers; the stream takes any name or `*` pattern (without the prefix).
TOPIC_CHOICES = (*MAIN_TOPICS, "*.dlt")

# `follow` with everything but its on_ready callback, which the stream supplies.
Tail = Callable[..., AsyncGenerator[FeedEvent, None]]


class Ready:
    """The tail's starting positions are fixed: whatever is published from now on is seen."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = topics


router = APIRouter(dependencies=[operators_only], include_in_schema=False)

Topics = Annotated[list[str] | None, Query(alias="topic")]
Types = Annotated[list[str] | None, Query(alias="type")]
# PostgreSQL text cannot hold NUL: refused here (422) rather than failing in a query.
Text = Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")]
Last = Annotated[int, Query(ge=0, le=200, description="Recent events to show first")]


def feed_filter(
    topics: list[str] | None, types: list[str] | None, tender_id: str, supplier_id: str
) -> FeedFilter:
    def split(values: list[str] | None) -> list[str]:
        # Repeated parameters or comma-separated values, as a person types them.
        return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]

    return FeedFilter(
        topics=split(topics),
        types=split(types),
        tender_id=tender_id.strip() or None,
        supplier_id=supplier_id.strip() or None,
    )


@router.get("/feed")
async def feed_page(
    request: Request,
    topics: Topics = None,
    types: Types = None,
    tender_id: Text = "",
    supplier_id: Text = "",
    last: Last = 20,
) -> HTMLResponse:
    return page(
        request,
        "feed.html",
        known_topics=TOPIC_CHOICES,
        chosen=feed_filter(topics, types, tender_id, supplier_id),
        last=last,
    )


@router.get("/feed/stream")
async def feed_stream(
    settings: Settings,
    request: Request,
    topics: Topics = None,
    types: Types = None,
    tender_id: Text = "",
    supplier_id: Text = "",
    last: Last = 20,
) -> StreamingResponse:
    tail = partial(
        follow,
        settings.kafka_bootstrap_servers,
        topic_prefix=settings.topic_prefix,
        feed_filter=feed_filter(topics, types, tender_id, supplier_id),
        last=last,
    )
    pumps: set[asyncio.Task[None]] = request.app.state.feed_pumps
    return StreamingResponse(
        server_sent(tail, pumps),
        media_type="text/event-stream",
        headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"},
    )


async def server_sent(tail: Tail, pumps: set[asyncio.Task[None]]) -> AsyncIterator[str]:
    queue: asyncio.Queue[FeedEvent | Ready | Exception] = asyncio.Queue(QUEUE_SIZE)
    pump = asyncio.create_task(_pump(tail, queue))
    # The app keeps a reference, so it can stop pumps still running when it shuts down.
    pumps.add(pump)
    pump.add_done_callback(pumps.discard)
    try:
        yield f"retry: {RECONNECT_MS}\n\n"
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if isinstance(item, Ready):
                yield _message({"topics": item.topics}, event="ready", event_id=None)
                continue
            if isinstance(item, Exception):
                # The browser reconnects after RECONNECT_MS and gets a fresh consumer.
                yield _message(
                    {"error": f"{type(item).__name__}: {item}"}, event="problem", event_id=None
                )
                return
            yield _message(_shown(item), event=None, event_id=_event_ref(item))
    finally:
        # Not awaited: the response may be being cancelled, and the pump closes its consumer
        # on its own once cancelled.
        pump.cancel()


async def _pump(tail: Tail, queue: asyncio.Queue[FeedEvent | Ready | Exception]) -> None:
    FEED_STREAMS.inc()
    try:
        # aclosing: a generator cancelled while suspended is not closed for us, and its
        # consumer must stop now rather than whenever the generator is collected.
        async with aclosing(tail(on_ready=lambda names: queue.put_nowait(Ready(names)))) as events:
            async for event in events:
                await queue.put(event)
    except Exception as exc:
        log.warning("console_feed_failed", error=repr(exc))
        await queue.put(exc)
    finally:
        FEED_STREAMS.dec()


def _event_ref(event: FeedEvent) -> str:
    return f"{event.topic}:{event.partition}:{event.offset}"


def _shown(event: FeedEvent) -> dict[str, Any]:
    """What the page shows: the envelope's facts, and the data with contacts masked."""
    return {
        "ref": _event_ref(event),
        "at": utc(event.timestamp),
        "topic": event.topic,
        "partition": event.partition,
        "offset": event.offset,
        "type": event.event_type,
        "event_id": event.event_id,
        "subject": event.subject,
        "tender_id": event.tender_id,
        "supplier_id": event.supplier_id,
        "correlation_id": event.correlation_id,
        "data": mask_contacts(json.dumps(event.data, ensure_ascii=False, default=str)),
    }


def _message(payload: dict[str, Any], *, event: str | None, event_id: str | None) -> str:
    # json.dumps never emits a raw newline, so the payload is one `data:` line.
    lines = [f"event: {event}"] if event else []
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(payload, ensure_ascii=False)}")
    return "\n".join(lines) + "\n\n"
