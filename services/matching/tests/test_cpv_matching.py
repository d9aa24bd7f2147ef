"""CPV matching: the rule, and the index giving exactly the naive scan's answer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderwire_matching.domain.index import MatchIndex
from tenderwire_matching.domain.matching import (
    SupplierProfile,
    TenderFacts,
    cpv_code_distance,
    matched_codes,
    matched_cpv_codes,
    matches,
    naive_scan,
)
from tenderwire_matching.live_index import LiveIndex
from tenderwire_matching.settings import MatchingSettings
from tenderwire_shared import cpv
from tenderwire_shared.settings import Environment
from tests.support.examples import examples

# A small corner of CPV, so random codes often share divisions, groups and classes; "0" digits
# leave a level unset, as CPV writes higher levels.
DIVISIONS = ["33", "45"]
DIGITS = ["0", "1", "4"]


@st.composite
def cpv_codes(draw: st.DrawFn) -> str:
    tail = "".join(draw(st.sampled_from(DIGITS)) for _ in range(6))
    return draw(st.sampled_from(DIVISIONS)) + tail


@st.composite
def profiles(draw: st.DrawFn, supplier_id: str) -> SupplierProfile:
    unspsc = draw(st.lists(st.sampled_from(["42131606", "42131600"]), max_size=1))
    return SupplierProfile(
        supplier_id=supplier_id,
        codes=tuple(unspsc),
        cpv_codes=tuple(draw(st.lists(cpv_codes(), min_size=0, max_size=3, unique=True))),
        agencies=frozenset(draw(st.lists(st.sampled_from(["UNDP", "WFP"]), max_size=1))),
        least_developed=draw(st.booleans()),
    )


@st.composite
def tenders(draw: st.DrawFn) -> TenderFacts:
    return TenderFacts.of(
        codes=draw(st.lists(st.sampled_from(["42131606", "42131600"]), max_size=1)),
        cpv_codes=draw(st.lists(cpv_codes(), min_size=0, max_size=3, unique=True)),
        beneficiary_countries=[],
        agency=draw(st.sampled_from(["UNDP", "WFP"])),
        notice_type="invitation_to_bid",
        title="t",
        description="",
    )


def _naive_cpv(profile: SupplierProfile, tender: TenderFacts, levels: int) -> list[str]:
    """Pairwise distances, the rule as written: at or under the supplier's code at any depth,
    or at most `levels` above it."""
    found = []
    for code in profile.cpv_codes:
        for tender_code in tender.cpv_codes:
            distance = cpv_code_distance(code, tender_code)
            if distance is not None and distance >= -levels:
                found.append(code)
                break
    return found


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(profiles("s"), max_size=1).map(lambda p: p[0] if p else None),
    tenders(),
    st.integers(0, 3),
)
def test_the_set_lookups_agree_with_pairwise_distances(
    profile: SupplierProfile | None, tender: TenderFacts, levels: int
) -> None:
    if profile is None:
        return
    assert list(matched_cpv_codes(profile, tender, levels)) == _naive_cpv(profile, tender, levels)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.integers(0, 25).flatmap(
        lambda n: st.tuples(*(profiles(f"s{i}") for i in range(n))).map(list)
    ),
    tenders(),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_the_index_and_the_naive_scan_agree(
    suppliers: list[SupplierProfile], tender: TenderFacts, levels: int, cpv_levels: int
) -> None:
    index = MatchIndex(levels, cpv_levels)
    for profile in suppliers:
        index.upsert(profile)
    # Upserting again and removing some leaves the postings right too.
    for profile in suppliers[::3]:
        index.upsert(profile)
    for profile in suppliers[1::4]:
        index.remove(profile.supplier_id)
    live = [p for i, p in enumerate(suppliers) if i % 4 != 1]

    found = index.match(tender)

    assert sorted(m.supplier_id for m in found) == naive_scan(live, tender, levels, cpv_levels)
    for m in found:
        profile = next(p for p in live if p.supplier_id == m.supplier_id)
        assert m.matched_codes == matched_codes(profile, tender, levels)
        assert m.matched_cpv_codes == matched_cpv_codes(profile, tender, cpv_levels)


def _tender(*codes: str) -> TenderFacts:
    return TenderFacts.of(
        codes=[],
        cpv_codes=codes,
        beneficiary_countries=[],
        agency="UNDP",
        notice_type="invitation_to_bid",
        title="t",
        description="",
    )


def test_a_group_covers_every_code_under_it_and_one_level_above() -> None:
    index = MatchIndex(levels=1)
    suppliers = {
        "group-331": "33100000",
        "class-3314": "33140000",
        "category-33141": "33141000",
        "exact": "33141100",
        "division-33": "33000000",
        "other-group": "33600000",
        "works": "45233162",
    }
    for supplier_id, code in suppliers.items():
        index.upsert(SupplierProfile(supplier_id, (), cpv_codes=(code,)))

    deep = sorted(m.supplier_id for m in index.match(_tender("33141100")))
    assert deep == ["category-33141", "class-3314", "division-33", "exact", "group-331"]
    # A tender classified only at group 331 reaches its classes (one level down), not deeper.
    group = sorted(m.supplier_id for m in index.match(_tender("33100000")))
    assert group == ["class-3314", "division-33", "group-331"]


def test_cpv_levels_default_to_the_unspsc_levels_and_can_differ() -> None:
    assert MatchIndex(2).cpv_levels == 2
    assert MatchIndex(1, 0).cpv_levels == 0
    supplier = SupplierProfile("s", (), cpv_codes=("33140000",))
    assert matches(supplier, _tender("33100000"), 1)
    assert not matches(supplier, _tender("33100000"), 1, cpv_levels=0)
    assert matches(supplier, _tender("33141100"), 1, cpv_levels=0)


def test_unspsc_and_cpv_are_separate_spaces() -> None:
    # The same 8 digits in the other scheme name something else: never matched across.
    supplier = SupplierProfile("s", ("45000000",), cpv_codes=())
    tender = _tender("45000000")
    assert not matches(supplier, tender, 1)
    assert MatchIndex(1).match(tender) == []


def test_cpv_ancestors_used_are_the_shared_ones() -> None:
    assert cpv.ancestors("33141100")[-1] == "33000000"


def test_the_cpv_level_rule_defaults_to_unspsc_s_and_is_its_own_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TW_MATCHING_CPV_HIERARCHY_LEVELS", raising=False)
    monkeypatch.setenv("TW_MATCHING_CODE_HIERARCHY_LEVELS", "2")
    assert MatchingSettings(environment=Environment.TEST).cpv_levels == 2
    monkeypatch.setenv("TW_MATCHING_CPV_HIERARCHY_LEVELS", "0")
    assert MatchingSettings(environment=Environment.TEST).cpv_levels == 0


def test_the_live_index_carries_the_cpv_levels_over_a_reload() -> None:
    live = LiveIndex(1, 3)
    assert (live.index.levels, live.index.cpv_levels) == (1, 3)
