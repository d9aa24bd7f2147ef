"""The console's pages. Every one is read-only and behind the operators' token."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Generic, TypeVar

import asyncpg
import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenderwire_console.dependencies import Databases, Settings, operators_only
from tenderwire_console.read_models.delivery_failures import (
    Problem,
    failed_deliveries,
    failure_counts,
    requeue_groups,
)
from tenderwire_console.read_models.dlq import get_dead_letter, list_dead_letters, parse_ref
from tenderwire_console.read_models.lag import consumer_lag, lag_by_group
from tenderwire_console.read_models.ocds_feeds import feed_statuses
from tenderwire_console.read_models.supplier_page import supplier_page
from tenderwire_console.read_models.supplier_search import find_suppliers
from tenderwire_console.read_models.tender_search import find_tenders
from tenderwire_console.read_models.trace import trace_tender
from tenderwire_console.read_models.trace_evidence import DatabaseUnreachableError
from tenderwire_console.read_models.why import explain
from tenderwire_console.web.rendering import page, path_part

T = TypeVar("T")

log = structlog.get_logger()

# A console is most needed when something is down: a page that reads an unreachable Kafka
# says so after this long instead of hanging.
KAFKA_TIMEOUT_S = 10.0
RECENT = timedelta(hours=24)
DEAD_LETTERS_SHOWN = 200

router = APIRouter(dependencies=[operators_only], include_in_schema=False)

# PostgreSQL text cannot hold NUL: refused here (422) rather than failing in a query.
Text = Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")]


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None
    error: str | None


async def attempt(work: Awaitable[T], what: str) -> Outcome[T]:
    """The value, or what went wrong in words for the page; never an error page for a part."""
    try:
        return Outcome(await asyncio.wait_for(work, KAFKA_TIMEOUT_S), None)
    except TimeoutError:
        return Outcome(None, f"{what}: no answer after {KAFKA_TIMEOUT_S:.0f} s")
    except Exception as exc:
        log.warning("console_read_failed", what=what, error=repr(exc))
        return Outcome(None, f"{what}: {type(exc).__name__}: {exc}")


# What a page raises when a database is down or refuses: answered with a 503 page, not a 500.
UNAVAILABLE: tuple[type[Exception], ...] = (
    DatabaseUnreachableError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


async def unavailable(request: Request, exc: Exception) -> Response:
    log.warning("console_read_failed", path=request.url.path, error=repr(exc))
    return page(request, "unavailable.html", status_code=503, error=f"{type(exc).__name__}: {exc}")


@router.get("/")
async def overview(request: Request, settings: Settings, db: Databases) -> HTMLResponse:
    lag, letters, failures, tenders, feeds = await asyncio.gather(
        attempt(
            consumer_lag(settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix),
            "consumer lag",
        ),
        attempt(
            list_dead_letters(
                settings.kafka_bootstrap_servers,
                topic_prefix=settings.topic_prefix,
                limit=DEAD_LETTERS_SHOWN,
            ),
            "dead letters",
        ),
        attempt(failure_counts(db.notify, since=RECENT), "delivery failures"),
        attempt(find_tenders(db.notices, "", limit=10), "latest tenders"),
        attempt(feed_statuses(db.notices), "OCDS feeds"),
    )
    return page(
        request,
        "overview.html",
        lag=lag_by_group(lag.value) if lag.value is not None else None,
        lag_error=lag.error,
        dead_letters=len(letters.value) if letters.value is not None else None,
        dead_letters_capped=letters.value is not None and len(letters.value) >= DEAD_LETTERS_SHOWN,
        dead_letters_error=letters.error,
        failures=failures.value,
        failures_error=failures.error,
        tenders=tenders.value or [],
        tenders_error=tenders.error,
        feeds=feeds.value,
        feeds_error=feeds.error,
    )


@router.get("/tenders", response_model=None)
async def tender_search(request: Request, db: Databases, q: Text = "") -> Response:
    text = q.strip()
    hits = await find_tenders(db.notices, text)
    if text and hits and hits[0].id == text:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/tenders/{path_part(text)}")
    return page(request, "tenders.html", q=text, hits=hits)


@router.get("/tenders/{tender_id}")
async def tender_timeline(request: Request, settings: Settings, tender_id: str) -> HTMLResponse:
    trace = await trace_tender(
        settings.notices_database_url,
        settings.matching_database_url,
        settings.notify_database_url,
        tender_id,
    )
    if not trace.found:
        return page(request, "tender_not_found.html", status_code=404, trace=trace)
    return page(request, "tender.html", trace=trace)


@router.get("/suppliers", response_model=None)
async def supplier_search(request: Request, db: Databases, q: Text = "") -> Response:
    text = q.strip()
    hits = await find_suppliers(db.matching, text) if text else []
    if text and hits and hits[0].id == text:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/suppliers/{path_part(text)}")
    return page(request, "suppliers.html", q=text, hits=hits)


@router.get("/suppliers/{supplier_id}")
async def supplier(
    request: Request,
    settings: Settings,
    db: Databases,
    supplier_id: str,
    tender: Text = "",
) -> HTMLResponse:
    found = (
        None if "\x00" in supplier_id else await supplier_page(db.matching, db.notify, supplier_id)
    )
    if found is None:
        return page(request, "supplier_not_found.html", status_code=404, supplier_id=supplier_id)
    tender_id = tender.strip()
    why = (
        await explain(
            settings.matching_database_url,
            settings.notify_database_url,
            supplier_id,
            tender_id,
            levels=settings.code_hierarchy_levels,
        )
        if tender_id
        else None
    )
    return page(request, "supplier.html", supplier=found, tender_id=tender_id, why=why)


@router.get("/deliveries/failed")
async def delivery_failures(
    request: Request, db: Databases, problem: Problem | None = None
) -> HTMLResponse:
    rows, counts = await asyncio.gather(
        failed_deliveries(db.notify, problem=problem),
        failure_counts(db.notify, since=RECENT),
    )
    return page(
        request,
        "deliveries_failed.html",
        rows=rows,
        requeue=requeue_groups(rows),
        counts=counts,
        problem=problem,
        problems=list(Problem),
    )


@router.get("/dead-letters")
async def dead_letters(request: Request, settings: Settings) -> HTMLResponse:
    letters = await attempt(
        list_dead_letters(
            settings.kafka_bootstrap_servers,
            topic_prefix=settings.topic_prefix,
            limit=DEAD_LETTERS_SHOWN,
        ),
        "dead letters",
    )
    return page(
        request,
        "dead_letters.html",
        status_code=200 if letters.error is None else 503,
        letters=letters.value or [],
        error=letters.error,
        limit=DEAD_LETTERS_SHOWN,
    )


@router.get("/dead-letters/{ref:path}")
async def dead_letter(request: Request, settings: Settings, ref: str) -> HTMLResponse:
    try:
        parse_ref(ref)
    except ValueError as exc:
        return page(
            request, "dead_letter.html", status_code=404, ref=ref, letter=None, error=str(exc)
        )
    letter = await attempt(get_dead_letter(settings.kafka_bootstrap_servers, ref), "dead letter")
    status = 503 if letter.error is not None else 200 if letter.value is not None else 404
    return page(
        request,
        "dead_letter.html",
        status_code=status,
        ref=ref,
        letter=letter.value,
        error=letter.error,
    )


@router.get("/lag")
async def lag(request: Request, settings: Settings) -> HTMLResponse:
    rows = await attempt(
        consumer_lag(settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix),
        "consumer lag",
    )
    return page(
        request,
        "lag.html",
        status_code=200 if rows.error is None else 503,
        rows=rows.value or [],
        groups=lag_by_group(rows.value or []),
        error=rows.error,
    )


@router.get("/ocds-feeds")
async def ocds_feeds(request: Request, db: Databases) -> HTMLResponse:
    return page(request, "ocds_feeds.html", feeds=await feed_statuses(db.notices))
