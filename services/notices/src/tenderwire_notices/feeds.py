"""OCDS feeds pulled on a schedule: fetch a page, import its releases, follow `links.next`.

As Kingfisher Collect does, a feed is a chain of release packages (or other shapes that
`ocds.package.releases_of` reads), each naming the next in `links.next`. The poller remembers
the page to fetch next (`ocds_feeds.resume_url`): a restart resumes there, and a feed whose
last page had no `links.next` is fetched again from that last page, since feeds grow at their
end. Imports are idempotent anyway (the `ocds_imports` ledger), so a page fetched twice, after
a crash between its import and its bookkeeping, changes nothing.

A page that cannot be fetched (an HTTP error, a timeout, a body over the size limit) or read
(not JSON, not OCDS) leaves the poller on that page, and it tries again after a backoff that
doubles with each failure in a row. One poller pulls an agency's feed at a time across replicas:
it holds a PostgreSQL advisory lock on its connection while it polls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import asyncpg
import httpx

from tenderwire_notices import repository, services
from tenderwire_notices.ocds import services as ocds_services
from tenderwire_notices.ocds.package import (
    PackageError,
    looks_like_json_lines,
    parse_json_lines,
    releases_of,
)
from tenderwire_notices.ocds.schemas import ImportReport
from tenderwire_shared.db import Connection


@dataclass(frozen=True)
class FeedLimits:
    timeout_s: float = 30.0  # per request, the whole exchange: connect, headers and body
    max_page_bytes: int = 20 * 1024 * 1024
    refresh_s: float = 3600.0  # a feed that has no next page is fetched again after this
    backoff_base_s: float = 60.0
    backoff_max_s: float = 3600.0
    max_pages_per_poll: int = 100  # then the feed is due again at once, behind the others


class FeedError(Exception):
    """A page that could not be fetched or read; nothing of it was imported."""


def backoff_s(failures_before: int, limits: FeedLimits) -> float:
    """How long to wait after a failure, given the failures in a row before it: the base
    delay, doubling each time, capped."""
    exponent = min(failures_before, 30)
    return float(min(limits.backoff_base_s * 2**exponent, limits.backoff_max_s))


def next_page(document: object, page_url: str) -> str | None:
    """The page after this one: `links.next`, resolved against the page's URL. None when there
    is none, when it is not an http(s) URL, or when it names the page itself."""
    if not isinstance(document, Mapping):
        return None
    links = document.get("links")
    if not isinstance(links, Mapping):
        return None
    target = links.get("next")
    if not isinstance(target, str) or not target.strip():
        return None
    resolved = urljoin(page_url, target.strip())
    if urlsplit(resolved).scheme not in ("http", "https") or resolved == page_url:
        return None
    return resolved


def read_page(body: bytes) -> tuple[Any, list[Any]]:
    """(the document, its releases), or FeedError saying why the body is no OCDS page. A page
    of JSON Lines (one release or package per line) is read too; it has no `links.next`."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        if not looks_like_json_lines(body):
            raise FeedError(f"not JSON: {exc}") from exc
        try:
            values = parse_json_lines(body)
        except ValueError as lines_exc:
            raise FeedError(f"not JSON Lines: {lines_exc}") from lines_exc
        try:
            return values, releases_of(values, json_lines=True)
        except PackageError as package_exc:
            raise FeedError(f"not OCDS: {package_exc}") from package_exc
    try:
        return document, releases_of(document)
    except PackageError as exc:
        raise FeedError(f"not OCDS: {exc}") from exc


async def fetch(client: httpx.AsyncClient, url: str, limits: FeedLimits) -> bytes:
    """The body at `url`, or FeedError: a non-2xx answer, no answer within the timeout, a body
    over the size limit (stopped reading as soon as it is over, whatever Content-Length says)."""
    try:
        async with asyncio.timeout(limits.timeout_s):
            async with client.stream("GET", url, follow_redirects=True) as response:
                if not response.is_success:
                    raise FeedError(f"HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limits.max_page_bytes:
                    raise FeedError(_too_large(limits))
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limits.max_page_bytes:
                        raise FeedError(_too_large(limits))
                    chunks.append(chunk)
                return b"".join(chunks)
    except TimeoutError as exc:
        raise FeedError(f"no complete answer within {limits.timeout_s:g} s") from exc
    except httpx.HTTPError as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}") from exc


def _too_large(limits: FeedLimits) -> str:
    return f"page larger than {limits.max_page_bytes} bytes"


async def load(source: str, limits: FeedLimits) -> list[Any]:
    """The releases of a file or an http(s) URL, for a one-off import (`tw ocds import`)."""
    if urlsplit(source).scheme in ("http", "https"):
        async with httpx.AsyncClient(timeout=limits.timeout_s) as client:
            body = await fetch(client, source, limits)
    else:
        body = await asyncio.to_thread(_read_file, Path(source), limits)
    return read_page(body)[1]


def _read_file(path: Path, limits: FeedLimits) -> bytes:
    try:
        if path.stat().st_size > limits.max_page_bytes:
            raise FeedError(_too_large(limits))
        return path.read_bytes()
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from exc


# The connection or the server is gone, as opposed to a statement that failed.
_DATABASE_GONE = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
)


@dataclass
class PollResult:
    agency: str
    pages: int = 0
    releases: int = 0
    imported: int = 0
    failed_releases: int = 0
    error: str | None = None


async def poll_feed(
    pool: asyncpg.Pool,
    ctx: services.Context,
    client: httpx.AsyncClient,
    agency: str,
    limits: FeedLimits,
) -> PollResult | None:
    """Pull `agency`'s feed from where it stopped, page by page, until a page has no next one,
    a page fails, or `max_pages_per_poll` pages are done. None when another poller holds the
    feed or it is no longer due (another replica just pulled it)."""
    async with pool.acquire() as conn:
        if not await repository.try_lock_feed(conn, agency):
            return None
        try:
            row = await repository.feed(conn, agency)
            if row is None or row["next_try_at"] > ctx.clock.now():
                return None
            return await _pull(conn, ctx, client, row, limits)
        finally:
            await repository.unlock_feed(conn, agency)


async def _pull(
    conn: Connection,
    ctx: services.Context,
    client: httpx.AsyncClient,
    row: asyncpg.Record,
    limits: FeedLimits,
) -> PollResult:
    agency = row["agency"]
    url: str = row["resume_url"] or row["url"]
    result = PollResult(agency)
    failures: int = row["failures"]
    while result.pages < limits.max_pages_per_poll:
        try:
            document, found = await _page(client, url, limits)
            report = await ocds_services.import_releases(conn, ctx, agency, found)
        except _DATABASE_GONE:
            raise  # nothing to record it in; the poller's next round tries again
        except Exception as exc:
            # A FeedError, or a page the import chokes on: either way the feed waits out a
            # backoff rather than failing every round.
            result.error = f"{url}: {exc}" if isinstance(exc, FeedError) else f"{url}: {exc!r}"
            await repository.record_feed_failure(
                conn,
                agency,
                error=result.error,
                now=ctx.clock.now(),
                backoff_s=backoff_s(failures, limits),
            )
            return result
        following = next_page(document, url)
        now = ctx.clock.now()
        await repository.record_feed_page(
            conn,
            agency,
            resume_url=following or url,
            releases=len(found),
            imported=report.counts.imported,
            now=now,
            next_try_at=now if following else now + timedelta(seconds=limits.refresh_s),
        )
        _count(result, report)
        failures = 0
        if following is None:
            break
        url = following
    return result


async def _page(client: httpx.AsyncClient, url: str, limits: FeedLimits) -> tuple[Any, list[Any]]:
    return read_page(await fetch(client, url, limits))


def _count(result: PollResult, report: ImportReport) -> None:
    result.pages += 1
    result.releases += len(report.releases)
    result.imported += report.counts.imported
    result.failed_releases += report.counts.failed
