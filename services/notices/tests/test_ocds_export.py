"""A notice's history -> OCDS 1.1 releases, package and record, valid against the 1.1.5 schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft4Validator

from tenderwire_notices.ocds import exporter, standard
from tenderwire_notices.ocds.exporter import RevisionEntry
from tenderwire_notices.ocds.header import read_header
from tenderwire_notices.ocds.planning import plan
from tenderwire_notices.ocds.release import PublishStep, ReleaseHeader
from tenderwire_shared.events.tenders import (
    TENDER_CLOSED,
    TENDER_PUBLISHED,
    TenderStatus,
)
from tests.support.ocds_cove import cove
from tests.support.ocds_histories import (
    AWARDED,
    CANCELLED,
    HISTORIES,
    IMPORTED_CLOSED,
    a_notice,
    errors,
    history,
    package_of,
)


def test_lib_cove_ocds_finds_what_is_wrong_in_a_release_package() -> None:
    package = package_of(AWARDED)
    package["releases"][0]["tag"] = ["tenderish"]
    package["releases"][0]["tender"]["tenderPeriod"]["startDate"] = "yesterday"
    package["releases"][0]["shoeSize"] = 43

    found = cove(package)

    assert found["validation_errors"][0]["value"] == "yesterday"
    assert found["additional_closed_codelist_values"]["releases/tag"]["values"] == ["tenderish"]
    assert found["additional_fields"][0]["field"] == "shoeSize"


# --- validity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HISTORIES)
def test_lib_cove_ocds_finds_nothing_wrong_in_the_release_package(name: str) -> None:
    assert cove(package_of(HISTORIES[name])) == {}


@pytest.mark.parametrize("name", HISTORIES)
def test_lib_cove_ocds_finds_nothing_wrong_in_the_compiled_release(name: str) -> None:
    record = exporter.record(HISTORIES[name], package_uri="https://tenderwire.example/p")
    package = {**package_of(HISTORIES[name]), "releases": [record["compiledRelease"]]}

    assert cove(package) == {}


@pytest.mark.parametrize("name", HISTORIES)
def test_the_release_package_is_valid_ocds_1_1(name: str) -> None:
    package = package_of(HISTORIES[name])

    assert errors(standard.release_package_validator(), package) == []


@pytest.mark.parametrize("name", HISTORIES)
def test_the_compiled_release_is_valid_against_the_release_schema(name: str) -> None:
    record = exporter.record(HISTORIES[name], package_uri="https://tenderwire.example/p")

    compiled = record["compiledRelease"]
    assert errors(standard.release_validator(), compiled) == []
    dereferenced = Draft4Validator(
        standard.schema(standard.DEREFERENCED_RELEASE_SCHEMA),
        format_checker=standard.format_checker(),
    )
    assert errors(dereferenced, compiled) == []


def test_the_validators_do_catch_what_ocds_forbids() -> None:
    # Without this, a validator that accepted anything would pass every test above.
    package = package_of(AWARDED)
    package["releases"][0]["tender"]["status"] = "closed"
    package["releases"][1]["date"] = "yesterday"
    del package["releases"][2]["ocid"]

    found = errors(standard.release_package_validator(), package)

    assert len(found) == 3, found


def test_codes_come_from_their_codelists() -> None:
    for name, revisions in HISTORIES.items():
        for release in package_of(revisions)["releases"]:
            assert set(release["tag"]) <= standard.codelist("releaseTag"), name
            assert release["tender"]["status"] in standard.codelist("tenderStatus"), name
            for party in release["parties"]:
                assert set(party["roles"]) <= standard.codelist("partyRole"), name
            for document in release["tender"].get("documents", []):
                types = standard.codelist("documentType")
                assert document.get("documentType", "tenderNotice") in types, name


# --- what the releases say --------------------------------------------------------------------


def test_one_release_per_revision_tagged_for_its_event() -> None:
    releases = package_of(AWARDED)["releases"]

    ocid = "ocds-tw0000-0195f3c2-7d4e-7000-8000-000000000001"
    assert [r["id"] for r in releases] == [f"{ocid}-000{n}" for n in range(1, 6)]
    assert {r["ocid"] for r in releases} == {ocid}
    assert [r["tag"] for r in releases] == [
        ["tender"],
        ["tenderAmendment"],
        ["tenderAmendment"],
        ["tenderUpdate"],
        ["award"],
    ]
    assert [r["tender"]["status"] for r in releases] == [
        "active",
        "active",
        "active",
        "active",
        "complete",
    ]
    assert [r["date"] for r in releases][:2] == ["2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"]


def test_the_tender_carries_codes_deadline_documents_and_buyer() -> None:
    first = package_of(AWARDED)["releases"][0]

    tender = first["tender"]
    assert [i["classification"] for i in tender["items"]] == [
        {"scheme": "UNSPSC", "id": "42131606"},
        {"scheme": "UNSPSC", "id": "42131600"},
    ]
    # The deadline in the agency's own offset: 16:00 UTC written at +01:00.
    assert tender["tenderPeriod"]["endDate"] == "2026-04-15T17:00:00+01:00"
    assert tender["procurementMethodDetails"] == "Request for quotation"
    assert "procurementMethod" not in tender
    assert tender["documents"][0]["url"] == "https://unicef.example/tor"
    (buyer,) = first["parties"]
    assert buyer["name"] == "United Nations Children's Fund"
    assert buyer["roles"] == ["buyer", "procuringEntity"]
    assert buyer["contactPoint"] == {"name": "Supply Division", "email": "supply@unicef.example"}
    assert first["buyer"] == {"id": buyer["id"], "name": buyer["name"]}


def test_amendments_accumulate_with_their_rationale_and_what_changed() -> None:
    releases = package_of(AWARDED)["releases"]

    amendments = releases[2]["tender"]["amendments"]
    assert [a["rationale"] for a in amendments] == ["Clarified scope", "More time for bidders"]
    assert amendments[0]["description"] == "Changed: title"
    assert amendments[1]["description"] == "Changed: deadline"
    assert amendments[1]["amendsReleaseID"] == releases[1]["id"]
    assert amendments[1]["releaseID"] == releases[2]["id"]
    assert releases[2]["tender"]["tenderPeriod"]["endDate"] == "2026-04-22T16:00:00+03:00"


def test_an_award_names_the_supplier_as_a_party() -> None:
    last = package_of(AWARDED)["releases"][-1]

    (award,) = last["awards"]
    assert award["value"] == {"amount": 125000.5, "currency": "USD"}
    assert award["date"] == "2026-04-20T00:00:00Z"
    supplier = next(p for p in last["parties"] if p["roles"] == ["supplier"])
    assert award["suppliers"] == [{"id": supplier["id"], "name": "Sahel Medical Supplies SARL"}]
    assert supplier["address"] == {"countryName": "Senegal"}


def test_a_cancellation_says_why_in_cancellation_details() -> None:
    last = package_of(CANCELLED)["releases"][-1]

    assert last["tag"] == ["tenderCancellation"]
    assert last["tender"]["status"] == "cancelled"
    details = [d for d in last["tender"]["documents"] if d.get("documentType")]
    assert details == [
        {
            "id": "cancellation",
            "documentType": "cancellationDetails",
            "title": "Reasons for cancellation",
            "description": "Budget withdrawn",
        }
    ]


def test_an_imported_notice_keeps_its_ocid_and_its_first_release_is_a_tender() -> None:
    (release,) = package_of(IMPORTED_CLOSED)["releases"]

    assert release["ocid"] == "ocds-213czf-000-00001"
    assert release["id"] == "ocds-213czf-000-00001-0001"
    assert release["tag"] == ["tender"]


# --- the record -------------------------------------------------------------------------------


def test_the_record_links_every_release_and_compiles_the_latest_state() -> None:
    uri = "https://tenderwire.example/v1/notices/x/ocds/release-package"
    record = exporter.record(AWARDED, package_uri=uri, buyer_name="UNICEF HQ")
    releases = package_of(AWARDED)["releases"]

    assert record["ocid"] == releases[0]["ocid"]
    assert record["releases"] == [
        {"url": f"{uri}#{r['id']}", "date": r["date"], "tag": r["tag"]} for r in releases
    ]
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"]
    assert compiled["date"] == releases[-1]["date"]
    assert compiled["id"] == f"{compiled['ocid']}-{compiled['date']}"
    assert compiled["tender"]["title"] == "Gowns, lot 2"
    assert compiled["tender"]["status"] == "complete"
    assert len(compiled["tender"]["amendments"]) == 2
    assert [p["roles"] for p in compiled["parties"]] == [["buyer", "procuringEntity"], ["supplier"]]


def test_merging_follows_ocds_rules() -> None:
    first: dict[str, Any] = {
        "ocid": "o",
        "id": "1",
        "date": "2026-01-01T00:00:00Z",
        "tag": ["tender"],
        "tender": {
            "id": "t",
            "title": "Old",
            "value": {"amount": 1},
            "items": [{"id": "a", "quantity": 1}, {"id": "b", "quantity": 2}],
            "submissionMethod": ["electronicSubmission", "inPerson"],
        },
    }
    second: dict[str, Any] = {
        "ocid": "o",
        "id": "2",
        "date": "2026-01-02T00:00:00Z",
        "tag": ["tenderUpdate"],
        "tender": {
            "title": "New",
            "value": None,
            "items": [{"id": "b", "quantity": 5}],
            "submissionMethod": ["written"],
        },
    }

    compiled = exporter.compiled_release([first, second])

    assert compiled["tender"] == {
        "id": "t",
        "title": "New",  # the latest value wins
        # null removed the value; items merged by id; a list of strings is replaced whole
        "items": [{"id": "a", "quantity": 1}, {"id": "b", "quantity": 5}],
        "submissionMethod": ["written"],
    }
    assert first["tender"]["items"][1] == {"id": "b", "quantity": 2}  # inputs untouched


# --- the way back -----------------------------------------------------------------------------


def test_an_exported_tender_imports_as_the_same_notice() -> None:
    release = package_of(AWARDED)["releases"][0]
    header = read_header(release)
    assert isinstance(header, ReleaseHeader)

    (step,) = plan(header, release)

    assert isinstance(step, PublishStep)
    notice = AWARDED[0].snapshot
    draft = step.draft
    assert draft.notice_type is notice.notice_type
    assert tuple(draft.unspsc_codes) == notice.unspsc_codes
    assert draft.deadline == notice.deadline
    assert draft.deadline.utcoffset() == timedelta(hours=1)
    assert (draft.title, draft.description) == (notice.title, notice.description)
    assert tuple(d.as_event() for d in draft.documents) == notice.documents
    assert tuple(c.as_event() for c in draft.contacts) == notice.contacts


def test_the_tender_period_runs_from_publication_to_the_deadline() -> None:
    (release,) = package_of(history((TENDER_PUBLISHED, None, {})))["releases"]

    assert release["tender"]["tenderPeriod"] == {
        "startDate": "2026-03-02T09:00:00Z",
        "endDate": "2026-04-15T17:00:00+01:00",
    }


def test_a_notice_published_after_its_deadline_exports_no_start_after_its_end() -> None:
    # Imported from a release dated after the tender closed: its start is not known.
    late = a_notice(
        status=TenderStatus.CLOSED,
        ocid="ocds-213czf-000-00001",
        published_at=datetime(2026, 5, 1, 0, 0, tzinfo=UTC),
    )
    package = package_of([RevisionEntry(1, TENDER_CLOSED, None, late, late.published_at)])

    (release,) = package["releases"]
    assert release["tender"]["tenderPeriod"] == {"endDate": "2026-04-15T17:00:00+01:00"}
    assert errors(standard.release_package_validator(), package) == []
    assert cove(package) == {}
