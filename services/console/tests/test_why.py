"""`tw why` from fixed rows: each verdict and its summary, how near the codes are, and what a
reclassified country means. Matching's rules themselves are tested in matching; the rows come
from real databases in tests/integration/test_why.py."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from tenderwire_console.read_models.why import (
    Check,
    Explanation,
    Verdict,
    code_check,
    cpv_check,
    eligibility_check,
    judge,
)
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot, TenderStatus


def tender(
    *codes: str, status: TenderStatus = TenderStatus.PUBLISHED, cpv: tuple[str, ...] = ()
) -> TenderSnapshot:
    return TenderSnapshot(
        tender_id="T-1",
        revision=1,
        status=status,
        agency="UNICEF",
        reference="RFQ-1",
        title="Isolation gowns",
        description="",
        language="en",
        notice_type=NoticeType.REQUEST_FOR_QUOTATION,
        unspsc_codes=codes,
        cpv_codes=cpv,
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


def supplier(**overrides: Any) -> Any:
    """A registry row as matching's registry.row returns it; every filter passes T-1."""
    return {
        "id": "S-1",
        "active": True,
        "country": "SEN",
        "codes": ["60101500"],
        "cpv_codes": [],
        "filter_countries": ["SEN"],
        "filter_agencies": ["UNICEF"],
        "filter_notice_types": ["request_for_quotation"],
        "keywords": ["gowns"],
        **overrides,
    }


ALERT: Any = {"kind": "new", "revision": 1, "still_matches": True, "codes": ["60101500"]}


def delivery(state: str, channel: str = "email", error: str | None = None) -> Any:
    return {
        "kind": "new",
        "revision": 1,
        "channel": channel,
        "state": state,
        "attempts": 1,
        "last_error": error,
        "sent_at": None,
    }


def test_an_alerted_supplier_passes_every_rule_in_order() -> None:
    answer = judge(supplier(), tender("60101501"), [ALERT], [delivery("sent")], levels=1)

    assert (answer.verdict, answer.summary) == (Verdict.ALERTED, "alerted: 1 of 1 deliveries sent")
    assert [(c.rule, c.passed) for c in answer.checks] == [
        ("active", True),
        ("eligible_country", True),
        ("unspsc_code", True),
        ("beneficiary_country", True),
        ("agency", True),
        ("notice_type", True),
        ("keyword", True),
    ]
    assert answer.deliveries == [
        {
            "kind": "new",
            "revision": "1",
            "channel": "email",
            "state": "sent",
            "attempts": "1",
            "last_error": "None",
            "sent_at": "None",
        }
    ]


@pytest.mark.parametrize(
    ("rule", "row", "detail"),
    [
        ("active", {"active": False}, "deactivated"),
        ("unspsc_code", {"codes": ["44121600"]}, "not on the same branch"),
        ("beneficiary_country", {"filter_countries": ["PER"]}, "wants ['PER']"),
        ("agency", {"filter_agencies": ["NOT-THIS-AGENCY"]}, "wants ['NOT-THIS-AGENCY']"),
        ("notice_type", {"filter_notice_types": ["invitation_to_bid"]}, "wants ['invitation_"),
        ("keyword", {"keywords": ["vaccines"]}, "wants one of ['vaccines']"),
    ],
)
def test_a_supplier_not_matched_is_told_which_rule_failed(
    rule: str, row: dict[str, Any], detail: str
) -> None:
    answer = judge(supplier(**row), tender("60101501"), [], [], levels=1)

    assert answer.verdict is Verdict.NOT_MATCHED
    assert [c.rule for c in answer.checks if not c.passed] == [rule]
    assert detail in next(c.detail for c in answer.checks if c.rule == rule)
    assert answer.summary == f"not alerted: failed {rule}"
    assert answer.alerts == answer.deliveries == []


def test_a_closed_tender_alerts_no_one_even_when_every_rule_passes() -> None:
    closed = tender("60101501", status=TenderStatus.CLOSED)
    answer = judge(supplier(), closed, [], [], levels=1)
    assert (
        answer.summary == "not alerted: the tender was already closed: closed tenders alert no one"
    )


def test_no_alert_and_no_failed_rule_means_it_did_not_match_back_then() -> None:
    answer = judge(supplier(), tender("60101501"), [], [], levels=1)
    assert answer.summary == "not alerted: matches now, but did not when the alerts went out"


def test_matched_but_not_delivered_names_each_delivery_state() -> None:
    bounced = judge(
        supplier(),
        tender("60101501"),
        [ALERT],
        [delivery("failed", error="SMTP 550 no such mailbox"), delivery("queued", "sms")],
        levels=1,
    )
    none_yet = judge(supplier(), tender("60101501"), [ALERT], [], levels=1)

    assert bounced.verdict is Verdict.NOT_DELIVERED
    assert bounced.summary == "matched (1 alert(s)) but not delivered: email failed, sms queued"
    assert bounced.deliveries[0]["last_error"] == "SMTP 550 no such mailbox"
    assert none_yet.summary == "matched (1 alert(s)) but not delivered: none queued yet"


def test_a_cpv_code_under_the_supplier_s_passes_at_any_depth_and_names_the_pair() -> None:
    check = cpv_check(("33100000",), tender(cpv=("33141100",)), levels=1)
    assert check == Check(
        "cpv_code",
        True,
        "CPV codes under the supplier's, or at most 1 level above: 33100000~33141100"
        " (under it, 3 levels down)",
    )


def test_a_cpv_code_too_far_above_fails_with_the_nearest_and_the_limit() -> None:
    check = cpv_check(("33141100", "45233162"), tender(cpv=("33100000",)), levels=1)
    assert not check.passed
    assert "nearest 33100000 is 3 levels above 33141100; at most 1 level above" in check.detail
    elsewhere = cpv_check(("45233162",), tender(cpv=("33100000",)), levels=1)
    assert "not on the same branch of CPV" in elsewhere.detail
    assert "the tender has none" in cpv_check(("45233162",), tender("60101501"), 1).detail


def test_a_cpv_only_supplier_is_judged_by_cpv_alone() -> None:
    row = supplier(codes=[], cpv_codes=["33100000"])
    answer = judge(row, tender(cpv=("33141100",)), [ALERT], [delivery("sent")], levels=1)
    assert answer.verdict is Verdict.ALERTED
    assert [c.rule for c in answer.checks][2:4] == ["cpv_code", "beneficiary_country"]

    missed = judge(row, tender(cpv=("45233162",)), [], [], levels=1)
    assert missed.summary == "not alerted: failed cpv_code"


def test_a_supplier_with_both_schemes_needs_only_one_to_match() -> None:
    row = supplier(codes=["60101500"], cpv_codes=["33100000"])
    by_cpv = judge(row, tender("44121600", cpv=("33141100",)), [], [], levels=1)
    unspsc = next(c for c in by_cpv.checks if c.rule == "unspsc_code")
    assert unspsc.passed
    assert unspsc.detail.startswith("not needed, cpv_code matched: supplier codes")

    neither = judge(row, tender("44121600", cpv=("45233162",)), [], [], levels=1)
    assert neither.summary == "not alerted: failed unspsc_code, cpv_code"


def test_the_cpv_limit_can_differ_from_unspsc_s() -> None:
    row = supplier(codes=[], cpv_codes=["33140000"])
    coarse = tender(cpv=("33100000",))
    assert judge(row, coarse, [], [], levels=1).checks[2].passed
    assert not judge(row, coarse, [], [], levels=1, cpv_levels=0).checks[2].passed


def test_an_unconfirmed_address_or_a_pause_is_named_beside_the_rules_not_as_one() -> None:
    row = supplier(
        email_verified_at=None,
        phone="+221775550123",
        phone_verified_at=None,
        paused_until=date(2027, 1, 1),
    )
    explanation = judge(
        row,
        tender("60101500"),
        [ALERT],
        [
            delivery("suppressed", "email", "address not verified"),
            delivery("suppressed", "sms", "address not verified"),
        ],
        levels=1,
        today=date(2026, 12, 2),
    )
    held = {c.rule: c.passed for c in explanation.checks[-3:]}
    assert held == {"email_confirmed": False, "phone_confirmed": False, "not_paused": False}
    assert explanation.verdict is Verdict.NOT_DELIVERED
    assert "email suppressed (address not verified)" in explanation.summary
    # Not matched for another reason: confirmation is not what the summary blames.
    unmatched = judge(row, tender("43211503"), [], [], levels=1)
    assert "email_confirmed" not in unmatched.summary
