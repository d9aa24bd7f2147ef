"""The OCDS import use case: applies a release package's releases to the notice lifecycle, one
transaction per release.

The `ocds_imports` ledger makes an import idempotent: a release (agency, ocid, release id)
is claimed in the same transaction that applies it, so a second import of the same package,
even a concurrent one, finds it claimed and changes nothing. A release that fails writes
nothing, not even its claim, and the import goes on with the next one.

The buyer a release names is kept for its notice (`notice_buyers`, the latest release by date
wins), so the OCDS exports name the publisher's buyer rather than the importing agency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import ValidationError

from tenderwire_notices import repository, services
from tenderwire_notices.domain import OPEN, NoticeError
from tenderwire_notices.ocds import parties
from tenderwire_notices.ocds.amending import amendment_against, as_amendment
from tenderwire_notices.ocds.header import read_header
from tenderwire_notices.ocds.package import Releases
from tenderwire_notices.ocds.planning import plan
from tenderwire_notices.ocds.release import (
    AmendStep,
    AwardStep,
    BrokenRelease,
    CancelStep,
    ImportStep,
    PublishStep,
    ReleaseError,
    ReleaseHeader,
    SkipStep,
)
from tenderwire_notices.ocds.schemas import ImportReport, Outcome, ReleaseReport, SourceReport
from tenderwire_notices.schemas import Amendment
from tenderwire_shared.api_errors import plain_msg
from tenderwire_shared.db import Connection
from tenderwire_shared.events.tenders import TenderSnapshot, TenderStatus


async def import_releases(
    conn: Connection, ctx: services.Context, agency: str, releases: list[Any]
) -> ImportReport:
    """Import every release of a body (`package.releases_of`), oldest first (by release
    date, then package order), each in a transaction of its own on `conn`."""
    reports: list[ReleaseReport] = []
    ready: list[tuple[int, ReleaseHeader, Mapping[str, Any]]] = []
    for position, release in enumerate(releases):
        header = read_header(release)
        if isinstance(header, BrokenRelease):
            reports.append(
                ReleaseReport(
                    position=position,
                    ocid=header.ocid,
                    release_id=header.release_id,
                    tags=list(header.tags),
                    outcome=Outcome.FAILED,
                    notes=list(header.problems),
                )
            )
        else:
            assert isinstance(release, Mapping)  # read_header checked it
            ready.append((position, header, release))
    ready.sort(key=lambda r: (r[1].date, r[0]))
    for position, header, release in ready:
        importer = _ReleaseImport(conn, ctx, agency, header)
        reports.append(await importer.run(position, release))
    return ImportReport.of(reports, _source(releases))


def _source(releases: list[Any]) -> SourceReport | None:
    if not isinstance(releases, Releases):  # a plain list: nothing is known of its body
        return None
    source = releases.source
    return SourceReport(
        shape=source.shape,
        version=source.version,
        upgraded=source.upgraded,
        notes=list(source.notes),
    )


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {plain_msg(e['msg'])}"
            for e in exc.errors()
        )
        return f"{exc.title} is not valid: {problems}"
    if isinstance(exc, asyncpg.DataError):
        return f"the database refused a value: {exc}"
    return str(exc)


@dataclass
class _ReleaseImport:
    conn: Connection
    ctx: services.Context
    agency: str
    header: ReleaseHeader
    notes: list[str] = field(default_factory=list)
    notice_id: str | None = None
    applied: bool = False
    # Set when a step cannot apply yet (its tender is not imported, its deadline not passed):
    # the release is then not recorded, so sending it again later applies it.
    retry_later: bool = False

    async def run(self, position: int, release: Mapping[str, Any]) -> ReleaseReport:
        header = self.header
        self.notes.extend(header.notes)
        try:
            async with self.conn.transaction():
                outcome = await self._claimed_and_applied(release)
        except (ReleaseError, ValidationError, NoticeError, asyncpg.DataError) as exc:
            # Rolled back: notes about steps applied before the failure would now be untrue.
            outcome = Outcome.FAILED
            self.notes = [*header.notes, _explain(exc)]
            self.notice_id = None
        return ReleaseReport(
            position=position,
            ocid=header.ocid,
            release_id=header.release_id,
            tags=list(header.tags),
            outcome=outcome,
            notice_id=self.notice_id,
            notes=self.notes,
        )

    async def _claimed_and_applied(self, release: Mapping[str, Any]) -> Outcome:
        key = repository.ReleaseKey(self.agency, self.header.ocid, self.header.release_id)
        if not await repository.claim_release(self.conn, key):
            return await self._previous(key)
        for step in plan(self.header, release):
            self.notes.extend(step.notes)
            await self._apply(step)
        await self._keep_buyer(release)
        outcome = Outcome.IMPORTED if self.applied else Outcome.SKIPPED
        if self.retry_later:
            await repository.unclaim_release(self.conn, key)
            self.notes.append("not recorded as imported: send this release again to finish it")
        else:
            await repository.record_release(self.conn, key, outcome.value, self.notice_id)
        return outcome

    async def _keep_buyer(self, release: Mapping[str, Any]) -> None:
        """The buyer this release names, kept for its notice's OCDS exports (the latest
        release wins), whether or not the release changed the notice."""
        if self.notice_id is None:
            return
        party = parties.buyer_to_keep(release)
        if party is not None:
            await repository.keep_buyer(
                self.conn,
                self.notice_id,
                party,
                release_id=self.header.release_id,
                release_date=self.header.date,
            )

    async def _previous(self, key: repository.ReleaseKey) -> Outcome:
        row = await repository.imported_release(self.conn, key)
        assert row is not None  # the conflicting row is committed, or the insert would wait
        self.notice_id = row["notice_id"]
        when = row["imported_at"].strftime("%Y-%m-%d %H:%M:%S UTC")
        self.notes.append(f"already imported at {when} ({row['outcome']}); nothing changed")
        return Outcome.ALREADY_IMPORTED

    async def _apply(self, step: ImportStep) -> None:
        match step:
            case SkipStep():
                self.notes.append(f"{step.tag}: skipped, {step.reason}")
            case PublishStep():
                await self._publish(step)
            case AmendStep():
                await self._amend(step.proposed, "amendment")
            case CancelStep():
                await self._cancel(step)
            case AwardStep() if self.applied:
                await self._award_beside(step)
            case AwardStep():
                await self._award(step)

    async def _award_beside(self, step: AwardStep) -> None:
        """An award in a release whose tender part applied: refused, it undoes only itself
        (a savepoint), never the tender suppliers can still bid on."""
        said = len(self.notes)
        try:
            async with self.conn.transaction():
                await self._award(step)
        except (NoticeError, ValidationError, asyncpg.DataError) as exc:
            del self.notes[said:]  # what the award said it did was rolled back with it
            self.notes.append(
                f"award: not applied, {_explain(exc)}; the rest of the release is imported"
            )

    async def _notice(self) -> TenderSnapshot | None:
        """The notice this release's ocid was imported as, locked until the release is done."""
        found = await repository.find_by_ocid(self.conn, self.agency, self.header.ocid)
        if found is None:
            return None
        row = await repository.lock(self.conn, found["id"], self.agency)
        assert row is not None  # notices are never deleted
        snapshot = repository.to_snapshot(row, self.ctx.public_base_url)
        self.notice_id = snapshot.tender_id
        return snapshot

    def _changed(self, tender: TenderSnapshot) -> None:
        self.notice_id = tender.tender_id
        self.applied = True

    def _not_yet(self, what: str, why: str) -> None:
        self.retry_later = True
        self.notes.append(f"{what}: not applied yet, {why}")

    async def _publish(self, step: PublishStep) -> None:
        current = await self._notice()
        if current is not None:
            await self._amend(as_amendment(step), "tender")
            return
        tender = await services.publish(
            self.conn,
            self.ctx,
            self.agency,
            step.draft,
            ocid=step.ocid,
            published_at=step.date,
            allow_past_deadline=True,
        )
        self._changed(tender)
        if tender.status is TenderStatus.CLOSED:
            self.notes.append(
                f"tender: its deadline ({tender.deadline.isoformat()}) has passed, so it was"
                " imported closed and nobody was alerted"
            )
        else:
            self.notes.append("tender: published")

    async def _amend(self, proposed: Amendment, what: str) -> None:
        current = await self._notice()
        if current is None:
            self._not_yet(what, "no notice has this ocid; import its tender release first")
            return
        if current.status not in OPEN:
            self.notes.append(
                f"{what}: not applied, the notice is {current.status.value} and only open"
                " notices are amended"
            )
            return
        amendment = amendment_against(current, proposed)
        if amendment is None:
            self.notes.append(f"{what}: not applied, the notice already says all of it")
            return
        self._changed(
            await services.amend(self.conn, self.ctx, self.agency, current.tender_id, amendment)
        )
        fields = sorted(amendment.model_fields_set - {"reason"})
        self.notes.append(f"{what}: amended {', '.join(fields)}")

    async def _cancel(self, step: CancelStep) -> None:
        current = await self._notice()
        if current is None:
            self._not_yet("cancellation", "no notice has this ocid; import its tender first")
            return
        if current.status in (TenderStatus.CANCELLED, TenderStatus.AWARDED):
            self.notes.append(f"cancellation: not applied, the notice is {current.status.value}")
            return
        self._changed(
            await services.cancel(self.conn, self.ctx, self.agency, current.tender_id, step.reason)
        )
        self.notes.append("cancellation: cancelled")

    async def _award(self, step: AwardStep) -> None:
        current = await self._notice()
        if current is None:
            self._not_yet("award", "no notice has this ocid; import its tender release first")
            return
        if current.status in (TenderStatus.CANCELLED, TenderStatus.AWARDED):
            self.notes.append(f"award: not applied, the notice is {current.status.value}")
            return
        if current.status in OPEN:
            if current.deadline > self.ctx.clock.now():
                deadline = current.deadline.isoformat()
                self._not_yet("award", f"the notice is open until its deadline, {deadline}")
                return
            # The deadline passed before the closer got to it; close it as the closer would.
            current = await services.close(self.conn, self.ctx, current)
            self._changed(current)
            self.notes.append("award: the notice's deadline had passed, so it was closed first")
        self._changed(
            await services.award(
                self.conn,
                self.ctx,
                self.agency,
                current.tender_id,
                step.decision,
                allow_before_publication=True,
            )
        )
        self.notes.append(f"award: awarded to {step.decision.supplier_name}")
        published_on = current.published_at.date()
        if step.decision.date < published_on:
            self.notes.append(
                f"award: its date ({step.decision.date}) is before the release that published"
                f" the tender ({published_on}); kept as the source says"
            )
