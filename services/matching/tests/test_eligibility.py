from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pycountry
import pytest

from tenderwire_matching.domain.eligibility import (
    Classification,
    EconomyGroup,
    IneligibleCountryError,
    check_eligible,
    classify,
    country_groups,
    edition,
)

ISO_CODES = frozenset(c.alpha_3 for c in pycountry.countries)


def _wesp_table(table: str) -> frozenset[str]:
    return frozenset(
        code
        for code, c in country_groups().countries.items()
        if c.source.startswith(f"WESP Table {table}:")
    )


def test_every_iso_country_has_exactly_one_explicit_entry() -> None:
    raw = resources.files("tenderwire_matching.data").joinpath("country_groups.json")
    # Parse into key/value pairs so that a duplicated key is seen, not silently overwritten.
    document = dict(json.loads(raw.read_text(encoding="utf-8"), object_pairs_hook=list))
    codes = [code for code, _ in document["countries"]]
    assert len(codes) == len(set(codes)) == 249
    assert set(codes) == ISO_CODES
    for code in ISO_CODES:
        assert isinstance(classify(code), Classification)


def test_group_counts_match_the_wesp_tables_and_the_fallback_rule() -> None:
    groups = country_groups()
    # WESP Table A: North America 2, Developed Asia and Pacific 3, EU 27, Other Europe 4.
    assert len(_wesp_table("A")) == 36
    # WESP Table B: South-Eastern Europe 5, CIS and Georgia 12.
    assert len(_wesp_table("B")) == 17
    assert len(_wesp_table("C")) == 125
    assert all(groups.countries[c].group is EconomyGroup.DEVELOPED for c in _wesp_table("A"))
    assert all(groups.countries[c].group is EconomyGroup.TRANSITION for c in _wesp_table("B"))
    assert all(groups.countries[c].group is EconomyGroup.DEVELOPING for c in _wesp_table("C"))
    # Only WESP Table B names economies in transition; the fallback never does.
    assert groups.economies_in_transition == _wesp_table("B")
    counts = Counter(c.group for c in groups.countries.values())
    assert counts == {
        EconomyGroup.DEVELOPED: 60,
        EconomyGroup.TRANSITION: 17,
        EconomyGroup.DEVELOPING: 172,
    }
    fallback = ISO_CODES - _wesp_table("A") - _wesp_table("B") - _wesp_table("C")
    assert all(groups.countries[c].source.startswith("fallback F") for c in fallback)


def test_special_groups_match_the_un_lists() -> None:
    countries = country_groups().countries
    ldc = {code for code, c in countries.items() if c.ldc}
    lldc = {code for code, c in countries.items() if c.lldc}
    sids = {code for code, c in countries.items() if c.sids}
    # 44 LDCs after Sao Tome and Principe (2024-12-13), less Lao PDR (2026-11-24).
    assert len(ldc) == 43
    assert {"BTN", "STP", "LAO"}.isdisjoint(ldc)
    assert {"BGD", "NPL", "SEN", "HTI", "KIR", "SLB", "TUV", "YEM"} <= ldc
    assert len(lldc) == 32
    # UN-OHRLLS: 39 "UN members" (with Cook Islands and Niue) and 18 other members.
    assert len(sids) == 57
    assert {"COK", "NIU", "SGP", "CUB", "PRI", "BMU"} <= sids
    assert "BHR" not in sids


def test_groups_are_disjoint_and_special_groups_are_developing_or_in_transition() -> None:
    groups = country_groups()
    developed = groups.developed
    transition = groups.economies_in_transition
    developing = groups.codes(EconomyGroup.DEVELOPING)
    assert not developed & transition
    assert not developed & developing
    assert not transition & developing
    assert developed | transition | developing == ISO_CODES
    for code, c in groups.countries.items():
        if c.ldc or c.lldc or c.sids:
            assert c.group is not EconomyGroup.DEVELOPED, code
    assert groups.least_developed <= developing | transition


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("FRA", EconomyGroup.DEVELOPED),
        ("USA", EconomyGroup.DEVELOPED),
        ("GBR", EconomyGroup.DEVELOPED),
        ("HRV", EconomyGroup.DEVELOPED),
        ("AND", EconomyGroup.DEVELOPED),
        ("GRL", EconomyGroup.DEVELOPED),
        ("ATA", EconomyGroup.DEVELOPED),
        ("TJK", EconomyGroup.TRANSITION),
        ("GEO", EconomyGroup.TRANSITION),
        ("UKR", EconomyGroup.TRANSITION),
        ("SRB", EconomyGroup.TRANSITION),
        ("SEN", EconomyGroup.DEVELOPING),
        ("KOR", EconomyGroup.DEVELOPING),
        ("HKG", EconomyGroup.DEVELOPING),
        ("PRK", EconomyGroup.DEVELOPING),
        ("ISR", EconomyGroup.DEVELOPING),
        ("TUV", EconomyGroup.DEVELOPING),
        ("REU", EconomyGroup.DEVELOPING),
    ],
)
def test_spot_checks(code: str, group: EconomyGroup) -> None:
    assert classify(code).group is group
    assert classify(code).eligible is (group is not EconomyGroup.DEVELOPED)


def test_developed_economies_are_not_eligible() -> None:
    assert classify("FRA") == classify("USA")
    assert not classify("FRA").eligible
    assert not classify("GBR").eligible


def _flags(code: str) -> tuple[bool, bool, bool, bool]:
    c = classify(code)
    return c.eligible, c.least_developed, c.landlocked, c.small_island


def test_flags() -> None:
    # (eligible, least developed, landlocked, small island)
    assert _flags("SEN") == (True, True, False, False)
    assert _flags("BOL") == (True, False, True, False)
    assert _flags("FJI") == (True, False, False, True)
    assert _flags("TJK") == (True, False, True, False)
    assert _flags("HTI") == (True, True, False, True)
    assert _flags("PER") == (True, False, False, False)
    assert _flags("FRA") == (False, False, False, False)


def test_unknown_codes_raise_a_clear_error() -> None:
    assert classify(" sen ") == classify("SEN")
    for bad in ("XKX", "ZZZ", "FR", ""):
        with pytest.raises(ValueError, match="ISO 3166-1 alpha-3"):
            classify(bad)


def test_edition_and_metadata_are_stated() -> None:
    groups = country_groups()
    assert edition().startswith("UN DESA World Economic Situation and Prospects (WESP) 2025")
    assert groups.as_of.isoformat() == "2026-11-25"
    assert groups.ldc_list_as_of.isoformat() == "2026-11-25"
    assert "F1" in groups.fallback_rule
    unverified = {code for code, c in groups.countries.items() if not c.verified}
    assert unverified == {"HKG", "BGD", "NPL", "LAO", "BHR"}
    assert all(groups.countries[code].note for code in unverified)


@pytest.mark.parametrize("country", ["SEN", "TJK", "KOR", "PER"])
def test_suppliers_in_developing_and_transition_economies_may_register(country: str) -> None:
    check_eligible(country, refuse_developed=True)


def test_a_supplier_in_a_developed_economy_is_refused_saying_whom_tenderwire_serves() -> None:
    with pytest.raises(IneligibleCountryError) as refused:
        check_eligible("FRA", refuse_developed=True)

    assert str(refused.value) == (
        "FRA is classified as a developed economy; Tenderwire serves suppliers registered in"
        " developing countries and economies in transition"
    )


def test_the_mandate_can_be_switched_off_for_developed_economies() -> None:
    check_eligible("FRA", refuse_developed=False)
    check_eligible("USA", refuse_developed=False)
