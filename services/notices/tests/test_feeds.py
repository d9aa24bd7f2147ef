"""The feed poller's rules that need no server: the next page, the backoff, what a page must be,
and a fetch's size limit and HTTP errors (over httpx's in-process transport). The poller over a
real HTTP server, PostgreSQL and Kafka: tests/integration/test_ocds_feeds.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tenderwire_notices.feeds import (
    FeedError,
    FeedLimits,
    backoff_s,
    fetch,
    load,
    next_page,
    read_page,
)

PAGE = "https://example.org/ocds/releases?page=2"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"links": {"next": "https://example.org/ocds/releases?page=3"}},
            "https://example.org/ocds/releases?page=3",
        ),
        ({"links": {"next": "?page=3"}}, "https://example.org/ocds/releases?page=3"),
        (
            {"links": {"next": "/other/feed?cursor=abc"}},
            "https://example.org/other/feed?cursor=abc",
        ),
        ({"links": {"next": "  "}}, None),
        ({"links": {"next": None}}, None),
        ({"links": {"prev": "?page=1"}}, None),
        ({"links": "?page=3"}, None),
        ({"releases": []}, None),
        ([{"ocid": "x"}], None),
        ({"links": {"next": PAGE}}, None),  # the page itself: the end, not a loop
        ({"links": {"next": "file:///etc/passwd"}}, None),
        ({"links": {"next": "javascript:alert(1)"}}, None),
    ],
)
def test_next_page_is_links_next_resolved_against_the_page(
    document: object, expected: str | None
) -> None:
    assert next_page(document, PAGE) == expected


def test_backoff_doubles_with_each_failure_in_a_row_up_to_its_cap() -> None:
    limits = FeedLimits(backoff_base_s=60, backoff_max_s=3600)
    assert [backoff_s(n, limits) for n in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff_s(10_000, limits) == 3600


def test_a_page_is_json_that_releases_of_reads() -> None:
    document, releases = read_page(json.dumps({"releases": [{"ocid": "a"}]}).encode())
    assert releases == [{"ocid": "a"}]
    assert document == {"releases": [{"ocid": "a"}]}
    with pytest.raises(FeedError, match="not JSON"):
        read_page(b"<html>maintenance</html>")
    with pytest.raises(FeedError, match="not JSON"):
        read_page(b"\xff\xfe")
    with pytest.raises(FeedError, match="not OCDS"):
        read_page(b'"just a string"')


async def _chunks(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_fetch_refuses_error_answers_and_pages_over_the_size_limit() -> None:
    body = json.dumps({"releases": []}).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/broken":
            return httpx.Response(500, text="oops")
        if request.url.path == "/gone":
            return httpx.Response(404)
        if request.url.path == "/big":
            return httpx.Response(200, content=b"x" * 2000)
        if request.url.path == "/big-chunked":
            # No Content-Length: the body is counted as it arrives.
            return httpx.Response(200, content=_chunks(b"x" * 600, b"x" * 600))
        return httpx.Response(200, content=body)

    limits = FeedLimits(max_page_bytes=1000)
    async with _client(httpx.MockTransport(answer)) as client:
        assert await fetch(client, "http://feed.test/ok", limits) == body
        with pytest.raises(FeedError, match="HTTP 500"):
            await fetch(client, "http://feed.test/broken", limits)
        with pytest.raises(FeedError, match="HTTP 404"):
            await fetch(client, "http://feed.test/gone", limits)
        with pytest.raises(FeedError, match="larger than 1000 bytes"):
            await fetch(client, "http://feed.test/big", limits)
        with pytest.raises(FeedError, match="larger than 1000 bytes"):
            await fetch(client, "http://feed.test/big-chunked", limits)


async def test_fetch_reports_a_connection_failure_as_a_feed_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with _client(httpx.MockTransport(refuse)) as client:
        with pytest.raises(FeedError, match="ConnectError: connection refused"):
            await fetch(client, "http://feed.test/", FeedLimits())


async def test_load_reads_a_file_and_refuses_a_missing_or_oversized_one(tmp_path: Path) -> None:
    page = tmp_path / "package.json"
    page.write_text(json.dumps({"releases": [{"ocid": "a"}, {"ocid": "b"}]}), encoding="utf-8")
    assert len(await load(str(page), FeedLimits())) == 2
    with pytest.raises(FeedError, match="cannot read"):
        await load(str(tmp_path / "missing.json"), FeedLimits())
    with pytest.raises(FeedError, match="larger than 10 bytes"):
        await load(str(page), FeedLimits(max_page_bytes=10))


def test_a_page_of_json_lines_is_read_release_by_release() -> None:
    lines = b"\n".join(
        json.dumps(
            {
                "ocid": f"ocds-x-{n}",
                "id": f"r{n}",
                "date": "2026-12-01T00:00:00Z",
                "tag": ["tender"],
                "initiationType": "tender",
            }
        ).encode()
        for n in range(3)
    )
    document, releases = read_page(lines)
    assert [r["ocid"] for r in releases] == ["ocds-x-0", "ocds-x-1", "ocds-x-2"]
    assert next_page(document, "https://feed.example/page1") is None
