"""Country names as publishers write them, in a UN language or their own, read as ISO codes;
and the beneficiary countries' rule: delivery, then the buyer, then the procuring entity.
Pure: no database."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tenderwire_notices.ocds import fields
from tenderwire_notices.ocds.header import read_header
from tenderwire_notices.ocds.parties import alpha3, country_code
from tenderwire_notices.ocds.planning import plan
from tenderwire_notices.ocds.release import AwardStep, PublishStep, ReleaseHeader

FICTIONAL = Path(__file__).parents[3] / "tests" / "fixtures" / "ocds" / "fictional-1.1"
OCID = "ocds-213czf-000-00001"


def fictional(stage: str) -> dict[str, Any]:
    package = json.loads((FICTIONAL / f"{OCID}-{stage}.json").read_text(encoding="utf-8"))
    release: dict[str, Any] = copy.deepcopy(package["releases"][0])
    return release


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("México", "MEX"),  # Spanish
        ("MEXIQUE", "MEX"),  # French, in capitals
        ("Україна", "UKR"),  # Ukrainian: no UN language, found in the publisher's own
        ("Sénégal", "SEN"),
        ("senegal", "SEN"),  # accents left out
        ("Россия", "RUS"),  # Russian
        ("中国", "CHN"),  # Chinese
        ("مصر", "EGY"),  # Arabic
        ("Estados Unidos", "USA"),
        ("Côte d’Ivoire", "CIV"),
        ("Deutschland", "DEU"),  # German, found among all CLDR's languages
        ("United Kingdom", "GBR"),  # English and codes, as before
        ("gb", "GBR"),
        ("PRY", "PRY"),
    ],
)
def test_a_country_named_in_a_un_or_the_publishers_language_is_read(name: str, code: str) -> None:
    assert country_code(name) == code


def test_the_publishers_language_is_tried_for_its_own_names() -> None:
    assert country_code("Brasil", "pt") == "BRA"
    assert country_code("Україна", "uk") == "UKR"


@pytest.mark.parametrize("name", ["Atlantis", "", "   ", "Europe", "Latin America", "EU"])
def test_what_is_no_country_is_not_read_as_one(name: str) -> None:
    assert country_code(name) is None


def test_a_name_read_through_its_translation_is_noted_once() -> None:
    notes: list[str] = []

    for _ in range(3):
        assert alpha3("México", "delivery country", notes) == "MEX"

    assert notes == ["delivery country 'México' read as MEX"]


def test_an_english_name_needs_no_note() -> None:
    notes: list[str] = []

    assert alpha3("Mexico", "delivery country", notes) == "MEX"
    assert notes == []


def tender_for(*deliveries: object, buyer_country: str | None = None) -> dict[str, Any]:
    release = fictional("02-tender")
    release["language"] = "es"
    items = []
    for n, delivery in enumerate(deliveries):
        item: dict[str, Any] = {"id": str(n), "description": "x"}
        if isinstance(delivery, list):
            item["deliveryAddresses"] = [{"countryName": name} for name in delivery]
        elif delivery is not None:
            item["deliveryAddress"] = {"countryName": delivery}
        items.append(item)
    release["tender"]["items"] = items
    for party in release["parties"]:
        if buyer_country is None:
            party.get("address", {}).pop("countryName", None)
        else:
            party["address"]["countryName"] = buyer_country
    return release


def draft_of(release: dict[str, Any]) -> PublishStep:
    header = read_header(release)
    assert isinstance(header, ReleaseHeader)
    (step,) = plan(header, release)
    assert isinstance(step, PublishStep)
    return step


def test_delivery_countries_come_first_every_one_the_items_name() -> None:
    step = draft_of(tender_for("México", ["Guatemala", "Belice"], buyer_country="Honduras"))

    assert step.draft.beneficiary_countries == ["MEX", "GTM", "BLZ"]


def test_without_a_delivery_country_the_buyers_is_used() -> None:
    step = draft_of(tender_for(None, "Atlantis", buyer_country="Perú"))

    assert step.draft.beneficiary_countries == ["PER"]
    assert "beneficiary country taken from the buyer's address (Perú)" in step.notes
    assert "delivery country 'Atlantis' is not a country Tenderwire knows; dropped" in step.notes


def test_multiple_destinations_only_when_no_country_can_be_read_at_all() -> None:
    step = draft_of(tender_for(None, buyer_country=None))

    assert step.draft.beneficiary_countries == []
    assert any("passes every supplier's country filter" in note for note in step.notes)


def test_a_suppliers_country_in_its_own_language_is_read() -> None:
    award = fictional("04-award")
    for party in award["parties"]:
        if "supplier" in party.get("roles", []):
            party["address"]["countryName"] = "Royaume-Uni"
    header = read_header(award)
    assert isinstance(header, ReleaseHeader)

    (step,) = plan(header, award)

    assert isinstance(step, AwardStep)
    assert step.decision.supplier_country == "GBR"


def test_a_phone_is_read_with_the_buyers_country_in_its_own_language() -> None:
    release = fictional("02-tender")
    release["parties"][0]["address"]["countryName"] = "Reino Unido"
    notes: list[str] = []

    (contact,) = fields.contacts(release, notes)

    assert contact.phone == "+441234345346"  # "01234 345 346", in the UK
