"""What an import did, release by release, for the agency to read: the import's HTTP reply."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Outcome(StrEnum):
    IMPORTED = "imported"  # at least one lifecycle step applied
    SKIPPED = "skipped"  # nothing to apply, or not yet (the notes say which)
    ALREADY_IMPORTED = "already_imported"  # this ocid and release id were imported before
    FAILED = "failed"  # refused; nothing of this release was written


class ReleaseReport(BaseModel):
    position: int = Field(description="Index of the release in the package's releases array")
    ocid: str | None
    release_id: str | None
    tags: list[str]
    outcome: Outcome
    notice_id: str | None = None
    notes: list[str] = Field(default_factory=list)


class ImportCounts(BaseModel):
    imported: int = 0
    skipped: int = 0
    already_imported: int = 0
    failed: int = 0


class ImportReport(BaseModel):
    counts: ImportCounts
    releases: list[ReleaseReport] = Field(
        description="In the order they were applied: by release date, then package order"
    )

    @classmethod
    def of(cls, releases: list[ReleaseReport]) -> ImportReport:
        counts = ImportCounts()
        for release in releases:
            name = release.outcome.value
            setattr(counts, name, getattr(counts, name) + 1)
        return cls(counts=counts, releases=releases)
