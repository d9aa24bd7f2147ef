"""The real buyer of an imported notice: read from the release's parties, and exported as the
release's `buyer` and a party with role "buyer", the agency staying the procuring entity.
Pure: no database (the latest-release-wins storage is tested over the real stack,
tests/integration/test_ocds.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tenderwire_notices.ocds import exporter, standard
from tenderwire_notices.ocds.parties import buyer_to_keep
from tests.support.ocds_cove import cove
from tests.support.ocds_histories import AWARDED, CANCELLED, HISTORIES, errors

FICTIONAL = Path(__file__).parents[3] / "tests" / "fixtures" / "ocds" / "fictional-1.1"
OCID = "ocds-213czf-000-00001"

BARNET = {
    "id": "GB-LAC-E09000003",
    "name": "London Borough of Barnet",
    "identifier": {"scheme": "GB-LAC", "id": "E09000003", "legalName": "London Borough of Barnet"},
    "address": {
        "streetAddress": "4, North London Business Park, Oakleigh Rd S",
        "locality": "London",
        "region": "London",
        "postalCode": "N11 1NP",
        "countryName": "United Kingdom",
    },
    "contactPoint": {
        "name": "Procurement Team",
        "email": "procurement-team@example.com",
        "telephone": "01234 345 346",
        "faxNumber": "01234 345 345",
        "url": "http://example.com/contact/",
    },
}


def fictional(stage: str) -> dict[str, Any]:
    package = json.loads((FICTIONAL / f"{OCID}-{stage}.json").read_text(encoding="utf-8"))
    release: dict[str, Any] = copy.deepcopy(package["releases"][0])
    return release


def package_of(revisions: Any, imported_buyer: dict[str, Any] | None) -> dict[str, Any]:
    return exporter.release_package(
        revisions,
        publisher_name="Tenderwire",
        uri="https://tenderwire.example/v1/notices/x/ocds/release-package",
        buyer_name="United Nations Children's Fund",
        imported_buyer=imported_buyer,
    )


# --- reading the buyer a release names --------------------------------------------------------


def test_the_buyer_reference_is_read_from_parties_with_its_details() -> None:
    assert buyer_to_keep(fictional("02-tender")) == BARNET


def test_without_a_reference_the_party_with_role_buyer_is_the_buyer() -> None:
    release = fictional("04-award")
    del release["buyer"]
    release["parties"].reverse()  # the buyer is no longer the first party

    assert buyer_to_keep(release) == BARNET


def test_the_reference_wins_over_the_first_party_with_role_buyer() -> None:
    release = fictional("02-tender")
    other = {"id": "XX-1", "name": "Someone else", "roles": ["buyer"]}
    release["parties"].insert(0, other)

    kept = buyer_to_keep(release)

    assert kept is not None
    assert kept["id"] == "GB-LAC-E09000003"


def test_a_release_that_names_no_buyer_keeps_none() -> None:
    release = fictional("02-tender")
    del release["buyer"]
    release["parties"][0]["roles"] = ["procuringEntity"]

    assert buyer_to_keep(release) is None


def test_a_buyer_without_a_name_anywhere_is_not_kept() -> None:
    release = fictional("02-tender")
    release["buyer"] = {"id": "GB-LAC-E09000003"}
    del release["parties"][0]["name"]

    assert buyer_to_keep(release) is None


def test_an_ocds_1_0_inline_buyer_is_kept() -> None:
    release = {"buyer": {"name": "Ministry of Health", "address": {"countryName": "Kenya"}}}

    assert buyer_to_keep(release) == {
        "name": "Ministry of Health",
        "address": {"countryName": "Kenya"},
    }


def test_untrusted_values_are_cleaned_or_dropped() -> None:
    release = fictional("02-tender")
    party = release["parties"][0]
    party["id"] = 42  # ids are often numbers
    release["buyer"] = {"id": 42, "name": "x"}
    party["name"] = "London\x00 Borough <b>of</b> Barnet"
    party["address"] = {"locality": ["London"], "countryName": "  United Kingdom  "}
    party["contactPoint"] = {"name": "Team", "url": "javascript:alert(1)", "email": {"a": 1}}
    party["identifier"] = "GB-LAC-E09000003"
    party["shoeSize"] = 43

    assert buyer_to_keep(release) == {
        "id": "42",
        "name": "London Borough of Barnet",
        "address": {"countryName": "United Kingdom"},
        "contactPoint": {"name": "Team"},
    }


# --- exporting it ------------------------------------------------------------------------------


def test_the_imported_buyer_is_the_buyer_and_the_agency_the_procuring_entity() -> None:
    first = package_of(AWARDED, BARNET)["releases"][0]

    agency, buyer = first["parties"]
    assert first["buyer"] == {"id": "GB-LAC-E09000003", "name": "London Borough of Barnet"}
    assert buyer == {**BARNET, "roles": ["buyer"]}
    assert agency["name"] == "United Nations Children's Fund"
    assert agency["roles"] == ["procuringEntity"]
    assert first["tender"]["procuringEntity"] == {"id": agency["id"], "name": agency["name"]}


def test_the_supplier_stays_a_party_beside_the_imported_buyer() -> None:
    last = package_of(AWARDED, BARNET)["releases"][-1]

    assert [p["roles"] for p in last["parties"]] == [["procuringEntity"], ["buyer"], ["supplier"]]


def test_an_imported_buyer_whose_id_another_party_has_gets_one_of_ours() -> None:
    taken = exporter.release_package(
        AWARDED, publisher_name="T", uri="https://t.example/p", buyer_name="UNICEF"
    )["releases"][-1]["parties"]
    clashing = {**BARNET, "id": taken[1]["id"]}  # the supplier's id

    last = package_of(AWARDED, clashing)["releases"][-1]

    ids = [p["id"] for p in last["parties"]]
    assert len(set(ids)) == 3
    assert last["buyer"]["id"].startswith("TW-BUYER-")
    assert last["buyer"]["id"] == ids[1]
    # The same id in the releases before the award, so the compiled release has one buyer.
    releases = package_of(AWARDED, clashing)["releases"]
    assert {r["buyer"]["id"] for r in releases} == {last["buyer"]["id"]}
    compiled = exporter.record(AWARDED, package_uri="https://t.example/p", imported_buyer=clashing)[
        "compiledRelease"
    ]
    assert [p["roles"] for p in compiled["parties"]].count(["buyer"]) == 1


def test_an_imported_buyer_without_an_id_gets_a_stable_one() -> None:
    unnamed = {"name": "Ministry of Health"}

    releases = package_of(AWARDED, unnamed)["releases"]

    assert {r["buyer"]["id"] for r in releases} == {releases[0]["parties"][1]["id"]}
    assert releases[0]["buyer"]["id"].startswith("TW-BUYER-")


def test_without_an_imported_buyer_the_export_is_as_before() -> None:
    assert package_of(AWARDED, None) == exporter.release_package(
        AWARDED,
        publisher_name="Tenderwire",
        uri="https://tenderwire.example/v1/notices/x/ocds/release-package",
        buyer_name="United Nations Children's Fund",
    )
    first = package_of(AWARDED, None)["releases"][0]
    assert [p["roles"] for p in first["parties"]] == [["buyer", "procuringEntity"]]


def test_the_compiled_release_names_the_imported_buyer() -> None:
    record = exporter.record(
        AWARDED, package_uri="https://t.example/p", buyer_name="UNICEF", imported_buyer=BARNET
    )
    compiled = record["compiledRelease"]

    assert compiled["buyer"]["name"] == "London Borough of Barnet"
    assert [p["roles"] for p in compiled["parties"]] == [
        ["procuringEntity"],
        ["buyer"],
        ["supplier"],
    ]


@pytest.mark.parametrize("name", HISTORIES)
@pytest.mark.parametrize("imported_buyer", [BARNET, {"name": "Ministry of Health"}])
def test_exports_with_an_imported_buyer_are_valid(
    name: str, imported_buyer: dict[str, Any]
) -> None:
    package = package_of(HISTORIES[name], imported_buyer)
    record = exporter.record(
        HISTORIES[name], package_uri="https://t.example/p", imported_buyer=imported_buyer
    )
    compiled = record["compiledRelease"]

    assert errors(standard.release_package_validator(), package) == []
    assert errors(standard.release_validator(), compiled) == []
    assert cove(package) == {}
    assert cove({**package, "releases": [compiled]}) == {}


def test_a_buyer_read_from_a_hostile_release_exports_valid() -> None:
    release = fictional("02-tender")
    party = release["parties"][0]
    party["contactPoint"]["url"] = "not a url"
    party["identifier"]["uri"] = "ftp://example.com/x"
    party["address"]["postalCode"] = 12345
    kept = buyer_to_keep(release)
    assert kept is not None

    package = package_of(CANCELLED, kept)

    assert errors(standard.release_package_validator(), package) == []
    assert cove(package) == {}
    assert package["releases"][0]["parties"][1]["address"]["postalCode"] == "12345"
