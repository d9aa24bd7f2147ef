"""The notice API's input rules, on the models alone (the integration tests send them)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tenderwire_notices.schemas import Amendment, AwardDecision, NoticeContact, NoticeDraft

OPTIONAL_AMENDMENT_FIELDS = [name for name in Amendment.model_fields if name != "reason"]


def draft(**overrides: Any) -> dict[str, Any]:
    return {
        "reference": "UNICEF-RFQ-1",
        "title": "Isolation gowns",
        "notice_type": "request_for_quotation",
        "unspsc_codes": ["42131606"],
        "deadline": "2027-01-15T17:00:00+01:00",
        **overrides,
    }


def problems(exc: pytest.ExceptionInfo[ValidationError]) -> dict[tuple[Any, ...], str]:
    return {tuple(e["loc"]): e["msg"] for e in exc.value.errors()}


def test_all_ten_optional_amendment_fields_are_covered() -> None:
    assert sorted(OPTIONAL_AMENDMENT_FIELDS) == sorted(
        [
            *("title", "description", "notice_type", "unspsc_codes", "beneficiary_countries"),
            *("deadline", "documents", "contacts", "cpv_codes", "classifications"),
        ]
    )


def test_a_draft_may_carry_cpv_codes_instead_of_unspsc_codes() -> None:
    notice = NoticeDraft.model_validate(
        draft(unspsc_codes=[], cpv_codes=["45233162-2", "45233162"])
    )
    assert notice.cpv_codes == ["45233162"]
    assert notice.unspsc_codes == []
    omitted = draft(cpv_codes=["33100000"])
    del omitted["unspsc_codes"]
    assert NoticeDraft.model_validate(omitted).unspsc_codes == []


def test_a_draft_without_any_code_is_refused_on_unspsc_codes() -> None:
    with pytest.raises(ValidationError) as refused:
        NoticeDraft.model_validate(draft(unspsc_codes=[]))
    assert "or a CPV code in cpv_codes" in problems(refused)[("unspsc_codes",)]


def test_a_bad_cpv_code_is_refused_once_naming_cpv_codes() -> None:
    with pytest.raises(ValidationError) as refused:
        NoticeDraft.model_validate(draft(unspsc_codes=[], cpv_codes=["4523316"]))
    found = problems(refused)
    assert list(found) == [("cpv_codes", 0)]
    assert "8 digits" in found[("cpv_codes", 0)]


@pytest.mark.parametrize("field", OPTIONAL_AMENDMENT_FIELDS)
def test_a_null_in_an_amendment_means_unchanged(field: str) -> None:
    other = "description" if field == "title" else "title"
    amendment = Amendment.model_validate({"reason": "r", field: None, other: "New"})

    assert amendment.model_fields_set == {"reason", other}
    with pytest.raises(ValidationError, match="at least one field besides the reason"):
        Amendment.model_validate({"reason": "r", field: None})


@pytest.mark.parametrize("deadline", [1798761600, "1798761600", 1798761600.5, "2027-01-15"])
def test_a_deadline_must_be_an_iso_8601_date_time(deadline: object) -> None:
    with pytest.raises(ValidationError) as refused:
        NoticeDraft.model_validate(draft(deadline=deadline))
    assert "ISO 8601 date-time with a UTC offset" in problems(refused)[("deadline",)]


def test_a_deadline_with_no_instant_in_utc_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        NoticeDraft.model_validate(draft(deadline="9999-12-31T23:00:00-05:00"))
    assert "beyond the last date-time" in problems(refused)[("deadline",)]


@pytest.mark.parametrize(
    ("contact", "field", "words"),
    [
        ({"name": "Nul\x00"}, "name", "control characters"),
        ({"name": "Next\x85line"}, "name", "control characters"),
        ({"name": "Line\u2028separator"}, "name", "control characters"),
        ({"name": "<script>alert(1)</script>"}, "name", "HTML tags"),
        ({"name": "P", "email": "not-an-email"}, "email", "not a valid e-mail"),
        ({"name": "P", "email": "a\x00@unicef.org"}, "email", "control characters"),
        ({"name": "P", "phone": "call me maybe"}, "phone", "international form"),
        ({"name": "P", "phone": "33 869 00 00"}, "phone", "international form"),
        ({"name": "P", "phone": "+221 00 000"}, "phone", "not a valid phone number"),
        ({"name": "P", "phone": "+221\x0033"}, "phone", "control characters"),
        ({"name": "P", "fax": "+221"}, "fax", "Extra inputs"),
    ],
)
def test_contacts_follow_the_plain_text_rule_with_a_real_email_and_phone(
    contact: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        NoticeDraft.model_validate(draft(contacts=[contact]))
    assert words in problems(refused)[("contacts", 0, field)]


def test_a_phone_is_stored_in_e164_with_its_extension_and_an_email_normalised() -> None:
    contact = NoticeContact.model_validate(
        {"name": "Supply", "email": "Supply@UNICEF.org", "phone": "+1 (202) 555-0100 ext. 12"}
    )
    assert contact.phone == "+12025550100;ext=12"
    assert contact.email == "Supply@unicef.org"
    assert contact.as_event().phone == "+12025550100;ext=12"


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        ({"title": "ToR\x00", "url": "https://ungm.org/d"}, "title", "control characters"),
        ({"title": "<img src=x onerror=alert(1)>", "url": "https://ungm.org/d"}, "title", "HTML"),
        ({"title": "ToR", "url": "https://ungm.org/d\x00"}, "url", "control characters"),
        ({"title": "ToR", "url": "https://u:p@ungm.org/d"}, "url", "user name or password"),
        ({"title": "ToR", "url": "https://ungm.org/" + "d" * 2000}, "url", "at most 2000"),
    ],
)
def test_documents_follow_the_plain_text_rule_and_their_urls_are_bounded(
    document: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        NoticeDraft.model_validate(draft(documents=[document]))
    assert words in problems(refused)[("documents", 0, field)]


def award(**overrides: Any) -> dict[str, Any]:
    return {
        "supplier_name": "Sahel Medical",
        "supplier_country": "SN",
        "amount": "10.00",
        "currency": "XOF",
        "date": "2026-11-30",
        **overrides,
    }


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"date": 1767225600}, "date", "ISO 8601 date"),
        ({"date": "2026-11-30T00:00:00Z"}, "date", "ISO 8601 date"),
        ({"currency": "XXX"}, "currency", "no currency"),
        ({"currency": "XTS"}, "currency", "no currency"),
        ({"amount": "-1"}, "amount", "greater than or equal"),
    ],
)
def test_an_award_needs_an_iso_date_and_money_to_pay_in(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    assert AwardDecision.model_validate(award()).currency == "XOF"  # a CFA franc is money
    with pytest.raises(ValidationError) as refused:
        AwardDecision.model_validate(award(**overrides))
    assert words in problems(refused)[(field,)]


def test_paragraphs_keep_their_line_breaks_but_not_other_control_characters() -> None:
    kept = NoticeDraft.model_validate(draft(description="Lot 1\r\nLot 2\n\tDetails"))
    assert kept.description == "Lot 1\r\nLot 2\n\tDetails"
    with pytest.raises(ValidationError) as refused:
        NoticeDraft.model_validate(draft(description="Lot 1\x9b2"))
    assert "control characters" in problems(refused)[("description",)]


@pytest.mark.parametrize("field", ["scheme", "code", "description"])
@pytest.mark.parametrize("hostile", ["a\x00b", "<script>x</script>", "a\u202eb"])
@pytest.mark.parametrize("model", [NoticeDraft, Amendment])
def test_a_classification_follows_the_plain_text_rule(
    model: type[NoticeDraft | Amendment], field: str, hostile: str
) -> None:
    # A NUL here once reached the jsonb column and answered 500 (schemathesis found it).
    item = {"scheme": "CPV", "code": "33141100", "description": "Gowns", field: hostile}
    body: dict[str, Any] = (
        draft(classifications=[item])
        if model is NoticeDraft
        else {"classifications": [item], "reason": "Corrected classification"}
    )
    with pytest.raises(ValidationError) as exc:
        model.model_validate(body)
    assert ("classifications", 0, field) in problems(exc)
