"""What one OCDS 1.1 release becomes: its checked header, or why it has none, and the
lifecycle steps it asks for. Pure: no I/O, no clock.

Releases come from other systems and are trusted for nothing: any field may be missing, of the
wrong type or hostile. What can be repaired (markup in a title, a naive date, a country name
that is no country) is repaired and reported in the step's notes; what cannot makes the whole
release fail with a ReleaseError naming the field. Pydantic then validates the result exactly
as it validates what agencies send. `header.read_header` checks the header, `planning.plan`
makes the steps, `amending.amendment_against` compares a step with the notice imported before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tenderwire_notices.schemas import Amendment, AwardDecision, NoticeDraft

# Tells NoticeDraft (and Amendment) that a notice without UNSPSC codes is acceptable: releases
# classified only with CPV or a national scheme still import.
IMPORT_CONTEXT = {"ocds_import": True}


class ReleaseError(ValueError):
    """The release cannot become lifecycle steps; the message names the field and says why."""


@dataclass(frozen=True)
class ReleaseHeader:
    """The fields every release must have, checked."""

    ocid: str
    release_id: str
    date: datetime
    tags: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BrokenRelease:
    """A release without a usable ocid, id, date or tag: reported, never imported."""

    ocid: str | None
    release_id: str | None
    tags: tuple[str, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Step:
    release_id: str
    ocid: str
    date: datetime
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PublishStep(Step):
    """A "tender" release: a new notice, or an amendment of the one already imported."""

    draft: NoticeDraft
    amendment_reason: str


@dataclass(frozen=True, kw_only=True)
class AmendStep(Step):
    """The fields the release carries, before comparing them with the notice."""

    proposed: Amendment


@dataclass(frozen=True, kw_only=True)
class CancelStep(Step):
    reason: str


@dataclass(frozen=True, kw_only=True)
class AwardStep(Step):
    decision: AwardDecision


@dataclass(frozen=True, kw_only=True)
class SkipStep(Step):
    tag: str
    reason: str


ImportStep = PublishStep | AmendStep | CancelStep | AwardStep | SkipStep
