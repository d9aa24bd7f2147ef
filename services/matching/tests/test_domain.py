"""The matching rules in `domain.matching`, without a database: who hears about a tender at
each step of its lifecycle, in what order, and which codes are refused at registration.

The rest of the domain has its own files: test_code_levels.py (the ±levels reach),
test_index.py (the index against the naive scan), test_eligibility.py (who may register).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenderwire_matching.domain.matching import (
    MATCHING_FIELDS,
    Alert,
    IndexedMatch,
    SupplierProfile,
    TenderFacts,
    UnmatchableCodesError,
    alerts_to,
    amendment_alerts,
    check_codes_can_match,
    code_distance,
    facts_of,
    filter_verdicts,
    filters_pass,
    fold,
    in_sending_order,
    matched_codes,
    matches,
    new_match_alerts,
)
from tenderwire_matching.schemas import SupplierUpdate
from tenderwire_shared.events.matches import MatchKind
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot


def found(supplier_id: str, *codes: str, ldc: bool = False) -> IndexedMatch:
    return IndexedMatch(supplier_id, codes, least_developed=ldc)


def facts(**overrides: object) -> TenderFacts:
    fields: dict[str, object] = {
        "codes": ["42131606"],
        "beneficiary_countries": ["SEN"],
        "agency": "UNICEF",
        "notice_type": "request_for_quotation",
        "title": "Isolation gowns",
        "description": "Disposable gowns for health centres",
        **overrides,
    }
    return TenderFacts.of(**fields)  # type: ignore[arg-type]


# Who hears about a tender.


def test_a_published_tender_alerts_each_supplier_found_with_its_matched_codes() -> None:
    alerts = new_match_alerts([found("a", "42131606"), found("b", "42131600")], already=set())

    assert alerts == [
        Alert("a", MatchKind.NEW, ("42131606",)),
        Alert("b", MatchKind.NEW, ("42131600",)),
    ]
    assert all(a.still_matches for a in alerts)


def test_suppliers_alerted_before_get_no_second_new_tender_alert() -> None:
    alerts = new_match_alerts([found("a", "42131606"), found("b", "42131606")], already={"a"})

    assert [a.supplier_id for a in alerts] == ["b"]


def test_an_amendment_reaches_everyone_alerted_before_saying_whether_they_still_match() -> None:
    alerts = amendment_alerts({"gone", "kept"}, [found("kept", "42131606"), found("new", "x")])

    # Sorted by supplier, so the order does not depend on a set's.
    assert alerts == [
        # No longer matching, but told: it may already be preparing a bid.
        Alert("gone", MatchKind.AMENDED, (), still_matches=False),
        Alert("kept", MatchKind.AMENDED, ("42131606",), still_matches=True),
    ]


def test_after_an_amendment_only_the_suppliers_that_match_now_get_a_new_tender_alert() -> None:
    matching_now = [found("kept", "42131606"), found("new", "42131600")]

    alerts = new_match_alerts(matching_now, already={"gone", "kept"})

    assert alerts == [Alert("new", MatchKind.NEW, ("42131600",))]


def test_a_cancellation_reaches_everyone_alerted_before() -> None:
    assert alerts_to({"b", "a"}, MatchKind.CANCELLED) == [
        Alert("a", MatchKind.CANCELLED, still_matches=True),
        Alert("b", MatchKind.CANCELLED, still_matches=True),
    ]


def test_nobody_alerted_before_means_no_amendment_or_cancellation_alert() -> None:
    assert amendment_alerts(set(), [found("a", "42131606")]) == []
    assert alerts_to(set(), MatchKind.CANCELLED) == []


# In what order.

ALERTS = [Alert(s, MatchKind.NEW) for s in ("peru", "senegal", "kenya", "ethiopia")]
LDC = {"peru": False, "senegal": True, "kenya": False, "ethiopia": True}


def test_least_developed_country_suppliers_hear_first_and_the_rest_keep_their_order() -> None:
    ordered = in_sending_order(ALERTS, LDC, ldc_first=True)

    assert [a.supplier_id for a in ordered] == ["senegal", "ethiopia", "peru", "kenya"]


def test_without_ldc_first_alerts_keep_the_order_given() -> None:
    ordered = in_sending_order(ALERTS, LDC, ldc_first=False)

    assert [a.supplier_id for a in ordered] == ["peru", "senegal", "kenya", "ethiopia"]


def test_alerts_to_suppliers_no_longer_active_are_not_sent() -> None:
    # Only active suppliers are in the mapping.
    ordered = in_sending_order(ALERTS, {"kenya": False, "ethiopia": True}, ldc_first=True)

    assert [a.supplier_id for a in ordered] == ["ethiopia", "kenya"]


# When a supplier matches.


def test_codes_on_one_branch_are_levels_apart_and_others_are_not_comparable() -> None:
    assert code_distance("42131606", "42131606") == 0
    assert code_distance("42131600", "42131606") == 1
    assert code_distance("42131606", "42131600") == 1
    assert code_distance("42130000", "42131606") == 2
    assert code_distance("42131607", "42131606") is None


def test_a_supplier_matches_when_a_code_is_close_enough_and_every_filter_passes() -> None:
    tender = facts()
    supplier = SupplierProfile("s", ("42131600",), beneficiary_countries=frozenset({"SEN"}))

    assert matched_codes(supplier, tender, 1) == ("42131600",)
    assert matched_codes(supplier, tender, 0) == ()
    assert matches(supplier, tender, 1)
    assert not matches(supplier, tender, 0)


def test_each_filter_set_must_pass_and_the_explanation_agrees() -> None:
    tender = facts(beneficiary_countries=["SEN"], agency="UNICEF")
    for profile, passes in [
        (SupplierProfile("s", ("42131606",), beneficiary_countries=frozenset({"MLI"})), False),
        (SupplierProfile("s", ("42131606",), agencies=frozenset({"UNDP"})), False),
        (SupplierProfile("s", ("42131606",), notice_types=frozenset({"invitation_to_bid"})), False),
        (SupplierProfile("s", ("42131606",), keywords=(fold("GOWNS"),)), True),
        (SupplierProfile("s", ("42131606",), keywords=("stapler",)), False),
    ]:
        assert filters_pass(profile, tender) is passes, profile
        assert all(v.passed for v in filter_verdicts(profile, tender)) is passes, profile


def test_a_tender_for_multiple_destinations_passes_every_country_filter() -> None:
    profile = SupplierProfile("s", ("42131606",), beneficiary_countries=frozenset({"MLI"}))

    assert filters_pass(profile, facts(beneficiary_countries=[]))


def test_keywords_are_found_without_case_or_accents() -> None:
    tender = facts(title="MÉDICAMENTS essentiels", description="")
    profile = SupplierProfile("s", ("42131606",), keywords=(fold("medicaments"),))

    assert fold("Médicaments") == "medicaments"
    assert filters_pass(profile, tender)


def test_the_facts_of_a_tender_are_its_codes_countries_agency_type_and_folded_text() -> None:
    snapshot = TenderSnapshot(
        tender_id="t",
        revision=1,
        agency="UNICEF",
        reference="RFQ-1",
        title="Médicaments",
        description="Lots 1-3",
        language="fr",
        notice_type=NoticeType.INVITATION_TO_BID,
        unspsc_codes=("51000000",),
        beneficiary_countries=("SEN", "MLI"),
        deadline=datetime(2027, 1, 15, tzinfo=UTC),
        deadline_utc_offset_minutes=0,
        published_at=datetime(2026, 12, 1, tzinfo=UTC),
    )

    tender = facts_of(snapshot)

    assert tender.codes == ("51000000",)
    assert tender.beneficiary_countries == {"SEN", "MLI"}
    assert (tender.agency, tender.notice_type) == ("UNICEF", "invitation_to_bid")
    assert tender.text == "medicaments\nlots 1-3"


# Which codes are refused at registration.


def test_codes_that_reach_a_commodity_pass() -> None:
    check_codes_can_match(["43211503", "43211500"], 1)


def test_codes_that_could_never_match_are_refused_each_with_why() -> None:
    with pytest.raises(UnmatchableCodesError) as refused:
        check_codes_can_match(["43211503", "43000000", "43210000"], 1)

    (segment, family) = refused.value.reasons
    assert segment.startswith("43000000 is a segment code")
    assert family.startswith("43210000 is a family code")


def test_only_the_fields_that_change_who_matches_trigger_a_backfill() -> None:
    matching = {
        "unspsc_codes",
        "cpv_codes",
        "beneficiary_countries",
        "agencies",
        "notice_types",
        "keywords",
    }
    assert matching == MATCHING_FIELDS
    assert set(SupplierUpdate.model_fields) >= MATCHING_FIELDS
