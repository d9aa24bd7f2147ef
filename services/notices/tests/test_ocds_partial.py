"""A release with a tender and an award that cannot be read: the tender is still imported and
the report says what was skipped inside it. Pure: no database."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tenderwire_notices.ocds.header import read_header
from tenderwire_notices.ocds.planning import plan
from tenderwire_notices.ocds.release import (
    ImportStep,
    PublishStep,
    ReleaseError,
    ReleaseHeader,
    SkipStep,
)

FICTIONAL = Path(__file__).parents[3] / "tests" / "fixtures" / "ocds" / "fictional-1.1"
OCID = "ocds-213czf-000-00001"


def fictional(stage: str) -> dict[str, Any]:
    package = json.loads((FICTIONAL / f"{OCID}-{stage}.json").read_text(encoding="utf-8"))
    release: dict[str, Any] = package["releases"][0]
    return release


def tender_and_award() -> dict[str, Any]:
    """The fictional tender release, also carrying the fictional award and its supplier."""
    release = copy.deepcopy(fictional("02-tender"))
    award = fictional("04-award")
    release["tag"] = ["tender", "award"]
    release["awards"] = copy.deepcopy(award["awards"])
    known = {p["id"] for p in release["parties"]}
    release["parties"] += [p for p in award["parties"] if p["id"] not in known]
    return release


def steps_of(release: dict[str, Any]) -> list[ImportStep]:
    header = read_header(release)
    assert isinstance(header, ReleaseHeader), header
    return plan(header, release)


def nowhere(release: dict[str, Any]) -> None:
    """Neither the supplier's nor the buyer's country can be read."""
    for party in release["parties"]:
        party.get("address", {}).pop("countryName", None)
    for supplier in release["awards"][0]["suppliers"]:
        supplier.pop("id", None)
        supplier["name"] = "Unknown Supplies Ltd"


def test_both_parts_are_planned_when_both_can_be_read() -> None:
    steps = steps_of(tender_and_award())

    assert [type(step).__name__ for step in steps] == ["PublishStep", "AwardStep"]


@pytest.mark.parametrize(
    ("break_it", "words"),
    [
        (nowhere, "the supplier's country is not given, nor the buyer's"),
        (lambda r: r["awards"][0].update(suppliers=[]), "suppliers is empty"),
        (lambda r: r["awards"][0]["value"].update(amount="lots"), "not a number"),
        (lambda r: r["awards"][0]["value"].update(currency="GOLD"), "currency"),
    ],
)
def test_an_unreadable_award_never_drops_the_tender_of_the_same_release(
    break_it: Any, words: str
) -> None:
    release = tender_and_award()
    break_it(release)

    steps = steps_of(release)

    skipped, published = steps  # the skip first: lifecycle order
    assert isinstance(published, PublishStep)
    assert published.draft.title == "Planned cycle lane improvements"
    assert isinstance(skipped, SkipStep)
    assert skipped.tag == "award"
    assert skipped.reason.startswith("its award could not be read (")
    assert words in skipped.reason
    assert skipped.reason.endswith("the rest of the release is imported")


def test_an_award_alone_that_cannot_be_read_still_fails_the_release() -> None:
    release = fictional("04-award")
    release["awards"][0]["suppliers"] = []

    with pytest.raises(ReleaseError, match="suppliers is empty"):
        steps_of(release)


def test_an_award_alone_with_a_bad_currency_still_fails_as_not_valid() -> None:
    release = fictional("04-award")
    release["awards"][0]["value"]["currency"] = "GOLD"

    with pytest.raises(ValidationError):
        steps_of(release)


def test_an_unreadable_tender_still_fails_the_release_whatever_its_award() -> None:
    release = tender_and_award()
    del release["tender"]["tenderPeriod"]

    with pytest.raises(ReleaseError, match=r"tenderPeriod\.endDate is missing"):
        steps_of(release)
