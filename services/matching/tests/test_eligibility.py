from __future__ import annotations

import pycountry

from tenderwire_matching.eligibility import EconomyGroup, classify, country_groups


def test_developed_economies_are_not_eligible() -> None:
    assert classify("FRA") == classify("USA")
    assert classify("FRA").group is EconomyGroup.DEVELOPED
    assert not classify("FRA").eligible


def test_transition_and_developing_economies_are_eligible_and_ldcs_are_flagged() -> None:
    assert classify("TJK").group is EconomyGroup.TRANSITION
    assert classify("TJK").eligible
    assert classify("SEN").group is EconomyGroup.DEVELOPING
    assert classify("SEN").least_developed
    assert not classify("PER").least_developed


def test_every_listed_code_is_a_real_iso_country_and_groups_do_not_overlap() -> None:
    groups = country_groups()
    known = {c.alpha_3 for c in pycountry.countries}
    for listed in (groups.developed, groups.economies_in_transition, groups.least_developed):
        assert listed <= known
    assert not groups.developed & groups.economies_in_transition
    assert not groups.developed & groups.least_developed
