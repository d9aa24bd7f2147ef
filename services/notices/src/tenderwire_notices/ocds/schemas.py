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
    position: int = Field(
        description="Index of the release among those the body holds, in body order (for a"
        " release package, its index in `releases`)"
    )
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


class SourceReport(BaseModel):
    shape: str = Field(
        description="What the body was, told by its shape: 'release package', 'record package',"
        " 'release', 'record', 'an array of releases', 'JSON Lines of release packages'..."
    )
    version: str = Field(description="The OCDS version the data was read as: '1.1' or '1.0'")
    upgraded: bool = Field(description="Whether OCDS 1.0 data was upgraded to 1.1 to be read")
    notes: list[str] = Field(default_factory=list, description="What reading the body did")


class ImportReport(BaseModel):
    counts: ImportCounts
    source: SourceReport | None = Field(
        default=None, description="The body's shape and OCDS version"
    )
    releases: list[ReleaseReport] = Field(
        description="In the order they were applied: by release date, then package order"
    )

    @classmethod
    def of(cls, releases: list[ReleaseReport], source: SourceReport | None = None) -> ImportReport:
        counts = ImportCounts()
        for release in releases:
            name = release.outcome.value
            setattr(counts, name, getattr(counts, name) + 1)
        return cls(counts=counts, source=source, releases=releases)
