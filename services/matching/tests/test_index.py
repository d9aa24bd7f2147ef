"""The index must give exactly the naive scan's answer, whatever the suppliers and tenders."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tenderwire_matching.domain.index import MatchIndex
from tenderwire_matching.domain.matching import (
    SupplierProfile,
    TenderFacts,
    code_distance,
    filter_verdicts,
    filters_pass,
    fold,
    matched_codes,
    naive_scan,
)
from tests.support.examples import examples

# A small corner of the hierarchy, so random codes often share segments, families and classes.
SEGMENTS = ["42", "43"]
PAIRS = ["00", "13", "14"]


@st.composite
def unspsc_codes(draw: st.DrawFn) -> str:
    segment = draw(st.sampled_from(SEGMENTS))
    depth = draw(st.integers(min_value=1, max_value=4))
    pairs = [draw(st.sampled_from(PAIRS[1:])) for _ in range(depth - 1)]
    return (segment + "".join(pairs)).ljust(8, "0")


COUNTRIES = st.sampled_from(["SEN", "MLI", "KEN", "PER"])
AGENCIES = st.sampled_from(["UNDP", "UNICEF", "WFP"])
TYPES = st.sampled_from(["invitation_to_bid", "request_for_quotation"])
WORDS = st.sampled_from(["gowns", "médicaments", "water", "pumps"])


@st.composite
def profiles(draw: st.DrawFn, supplier_id: str) -> SupplierProfile:
    return SupplierProfile(
        supplier_id=supplier_id,
        codes=tuple(draw(st.lists(unspsc_codes(), min_size=1, max_size=3, unique=True))),
        beneficiary_countries=frozenset(draw(st.lists(COUNTRIES, max_size=2))),
        agencies=frozenset(draw(st.lists(AGENCIES, max_size=1))),
        notice_types=frozenset(draw(st.lists(TYPES, max_size=1))),
        keywords=tuple(fold(w) for w in draw(st.lists(WORDS, max_size=2))),
        least_developed=draw(st.booleans()),
    )


@st.composite
def tenders(draw: st.DrawFn) -> TenderFacts:
    words = draw(st.lists(WORDS | st.sampled_from(["Médicaments", "GOWNS"]), max_size=3))
    return TenderFacts.of(
        codes=draw(st.lists(unspsc_codes(), min_size=1, max_size=3, unique=True)),
        beneficiary_countries=draw(st.lists(COUNTRIES, max_size=2)),
        agency=draw(AGENCIES),
        notice_type=draw(TYPES),
        title=" ".join(words),
        description="",
    )


@st.composite
def registries(draw: st.DrawFn) -> list[SupplierProfile]:
    count = draw(st.integers(min_value=0, max_value=25))
    return [draw(profiles(f"s{i}")) for i in range(count)]


@settings(max_examples=examples(300), deadline=None)
@given(registries(), tenders(), st.integers(min_value=0, max_value=3))
def test_the_index_and_the_naive_scan_agree(
    suppliers: list[SupplierProfile], tender: TenderFacts, levels: int
) -> None:
    index = MatchIndex(levels)
    for profile in suppliers:
        index.upsert(profile)

    found = sorted(m.supplier_id for m in index.match(tender))

    assert found == naive_scan(suppliers, tender, levels)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["upsert", "remove"]), st.integers(0, 6), st.data()),
        max_size=30,
    ),
    tenders(),
    st.integers(min_value=0, max_value=2),
)
def test_the_index_stays_right_as_suppliers_change_and_leave(
    steps: list[tuple[str, int, st.DataObject]], tender: TenderFacts, levels: int
) -> None:
    index = MatchIndex(levels)
    live: dict[str, SupplierProfile] = {}
    for action, n, data in steps:
        supplier_id = f"s{n}"
        if action == "upsert":
            profile = data.draw(profiles(supplier_id))
            index.upsert(profile)
            live[supplier_id] = profile
        else:
            index.remove(supplier_id)
            live.pop(supplier_id, None)

    assert len(index) == len(live)
    found = sorted(m.supplier_id for m in index.match(tender))
    assert found == naive_scan(live.values(), tender, levels)


def test_ungm_rule_same_code_or_one_level_either_way() -> None:
    index = MatchIndex(levels=1)
    suppliers = {
        "same": "42131606",
        "class-above": "42131600",
        "family": "42130000",
        "sibling": "42131607",
    }
    for supplier_id, code in suppliers.items():
        index.upsert(SupplierProfile(supplier_id, (code,)))
    commodity, class_tender = _tender("42131606"), _tender("42131600")

    assert sorted(m.supplier_id for m in index.match(commodity)) == ["class-above", "same"]
    # For a class-level tender, its family is one level up and its commodities one down.
    found = sorted(m.supplier_id for m in index.match(class_tender))
    assert found == ["class-above", "family", "same", "sibling"]


def _tender(code: str) -> TenderFacts:
    return TenderFacts.of(
        codes=[code],
        beneficiary_countries=[],
        agency="UNDP",
        notice_type="invitation_to_bid",
        title="t",
        description="",
    )


@settings(max_examples=examples(300), deadline=None)
@given(profiles("s"), tenders())
def test_the_quick_filter_check_and_the_explained_one_agree(
    profile: SupplierProfile, tender: TenderFacts
) -> None:
    assert filters_pass(profile, tender) == all(v.passed for v in filter_verdicts(profile, tender))


@settings(max_examples=examples(300), deadline=None)
@given(profiles("s"), tenders(), st.integers(min_value=0, max_value=3))
def test_matched_codes_are_exactly_those_within_the_levels(
    profile: SupplierProfile, tender: TenderFacts, levels: int
) -> None:
    expected = tuple(
        code
        for code in profile.codes
        if any((d := code_distance(code, t)) is not None and d <= levels for t in tender.codes)
    )
    assert matched_codes(profile, tender, levels) == expected
