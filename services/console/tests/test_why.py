"""`tw why`'s two checks that are the console's own (matching's rules are tested in matching):
how near the codes are, and what a reclassified country means."""

from __future__ import annotations

from datetime import UTC, datetime

from tenderwire_console.read_models.why import (
    Check,
    Explanation,
    Verdict,
    code_check,
    eligibility_check,
)
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot, TenderStatus


def tender(*codes: str) -> TenderSnapshot:
    return TenderSnapshot(
        tender_id="T-1",
        revision=1,
        status=TenderStatus.PUBLISHED,
        agency="UNICEF",
        reference="RFQ-1",
        title="Isolation gowns",
        description="",
        language="en",
        notice_type=NoticeType.REQUEST_FOR_QUOTATION,
        unspsc_codes=codes,
        beneficiary_countries=("SEN",),
        deadline=datetime(2027, 1, 15, tzinfo=UTC),
        deadline_utc_offset_minutes=0,
        published_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_a_code_within_the_limit_passes_and_names_the_pair() -> None:
    check = code_check(("60101500",), tender("60101501"), levels=1)
    assert check == Check("unspsc_code", True, "within 1 level(s): 60101500~60101501 (1 level)")


def test_a_code_too_far_fails_with_the_nearest_pair_and_the_limit() -> None:
    check = code_check(("60101600", "60100000"), tender("60101501"), levels=1)
    assert not check.passed
    assert check.detail.startswith("supplier codes ['60101600', '60100000'] vs tender codes")
    assert "nearest 60100000~60101501 is 2 levels apart; the limit is 1" in check.detail


def test_codes_on_another_branch_say_so() -> None:
    check = code_check(("44121600",), tender("60101501"), levels=3)
    assert not check.passed
    assert "not on the same branch of the hierarchy; the limit is 3" in check.detail


def test_a_reclassified_country_still_passes_and_says_why() -> None:
    assert eligibility_check("SEN") == Check("eligible_country", True, "SEN is developing")
    reclassified = eligibility_check("USA")
    assert reclassified.passed
    assert reclassified.detail.startswith(
        "USA is developed now; eligibility is checked at registration"
    )


def test_the_json_answer_names_the_verdict() -> None:
    answer = Explanation(Verdict.NOT_MATCHED, "not alerted: failed keyword").as_json()
    assert answer == {
        "verdict": "not_matched",
        "summary": "not alerted: failed keyword",
        "checks": [],
        "alerts": [],
        "deliveries": [],
    }
