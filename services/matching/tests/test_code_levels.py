"""Which supplier codes could ever match a commodity-coded tender under the ±levels rule, and
that the ones refused are exactly those: the check agrees with the matching rule itself."""

from __future__ import annotations

import pytest

from tenderwire_matching.domain.matching import (
    SupplierProfile,
    TenderFacts,
    matched_codes,
    shallowest_useful_depth,
    why_code_never_matches,
)
from tenderwire_shared.unspsc import depth

# One branch, every level: segment, family, class, commodity.
BRANCH = ("43000000", "43210000", "43211500", "43211503")
COMMODITIES = ("43211503", "43211509", "43212105")


@pytest.mark.parametrize(("levels", "lowest"), [(0, 4), (1, 3), (2, 2), (3, 1)])
def test_the_shallowest_useful_level_follows_the_configured_reach(levels: int, lowest: int) -> None:
    assert shallowest_useful_depth(levels) == lowest


@pytest.mark.parametrize("levels", [0, 1, 2, 3])
@pytest.mark.parametrize("code", BRANCH)
def test_a_code_is_refused_exactly_when_it_reaches_no_commodity(code: str, levels: int) -> None:
    supplier = SupplierProfile(supplier_id="s", codes=(code,))
    reaches_a_commodity = any(
        matched_codes(supplier, _tender(commodity), levels) for commodity in COMMODITIES
    )

    assert (why_code_never_matches(code, levels) is None) == reaches_a_commodity


def test_under_ungms_rule_segments_and_families_are_refused_with_what_to_send() -> None:
    segment = why_code_never_matches("43000000", 1)
    family = why_code_never_matches("43210000", 1)

    assert segment is not None
    assert family is not None
    assert "43000000 is a segment code" in segment
    assert "class (43xxxx00) or commodity (43xxxxxx)" in segment
    assert "43210000 is a family code" in family
    assert "TW_MATCHING_CODE_HIERARCHY_LEVELS" in family
    assert "class (4321xx00) or commodity (4321xxxx)" in family
    assert [why_code_never_matches(c, 1) for c in BRANCH if depth(c) >= 3] == [None, None]


def _tender(code: str) -> TenderFacts:
    return TenderFacts.of(
        codes=[code],
        beneficiary_countries=[],
        agency="UNDP",
        notice_type="request_for_quotation",
        title="",
        description="",
    )
