"""The agencies' OCDS feeds as notices' poller left them: where each stands, how its last pulls
went, and when it is tried next."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tenderwire_console.read_models.sql import Database


class FeedStatus(BaseModel):
    agency: str
    url: str  # the feed's first page
    resume_url: str | None  # the page fetched next; None: the first page
    pages: int
    releases: int
    releases_imported: int
    failures: int  # in a row, since the last good page
    last_error: str | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    next_try_at: datetime

    @property
    def failing(self) -> bool:
        return self.failures > 0


async def feed_statuses(notices: Database) -> list[FeedStatus]:
    """Every feed, failing ones first, then by agency."""
    rows = await notices.fetch(
        "SELECT agency, url, resume_url, pages, releases, releases_imported, failures,"
        " last_error, last_fetch_at, last_success_at, next_try_at FROM ocds_feeds"
        " ORDER BY failures > 0 DESC, agency"
    )
    return [FeedStatus.model_validate(dict(r)) for r in rows]
