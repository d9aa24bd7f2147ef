"""The notice's rules, without a database or a clock: the lifecycle, deadlines and awards, a
draft becoming a notice, what an amendment changes, agency codes and Idempotency-Keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AnyHttpUrl

from tenderwire_notices import domain
from tenderwire_notices.domain import (
    ALLOWED_FROM,
    MAX_DEADLINE_YEARS,
    Action,
    AgencyError,
    IdempotencyKeyError,
    IllegalTransitionError,
    InvalidNoticeError,
    amended,
    check_agency_code,
    check_award_date,
    check_deadline,
    check_idempotency_key,
    check_transition,
    comparable,
    hash_api_key,
    next_revision,
    notice_url,
    request_fingerprint,
    snapshot_from_draft,
    what_changed,
)
from tenderwire_notices.schemas import Amendment, NoticeDraft
from tenderwire_shared.events.tenders import (
    Contact,
    Document,
    FieldChange,
    NoticeType,
    TenderSnapshot,
    TenderStatus,
)
from tests.support.examples import examples


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(TenderStatus))
def test_every_pair_of_status_and_action_is_either_allowed_or_refused_with_a_reason(
    status: TenderStatus, action: Action
) -> None:
    if status in ALLOWED_FROM[action]:
        check_transition(status, action)
        return
    with pytest.raises(IllegalTransitionError, match=f"cannot {action.value} a notice that is"):
        check_transition(status, action)


def test_the_lifecycle_matches_the_ungm_rules() -> None:
    assert ALLOWED_FROM[Action.AWARD] == {TenderStatus.CLOSED}
    assert TenderStatus.AWARDED not in ALLOWED_FROM[Action.CANCEL]
    assert TenderStatus.CLOSED in ALLOWED_FROM[Action.CANCEL]
    assert TenderStatus.CLOSED not in ALLOWED_FROM[Action.AMEND]


NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "deadline",
    [
        NOW + timedelta(days=365 * MAX_DEADLINE_YEARS + 2),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_a_deadline_more_than_the_maximum_ahead_is_refused_even_for_an_import(
    deadline: datetime,
) -> None:
    with pytest.raises(InvalidNoticeError, match="years ahead") as refused:
        check_deadline(deadline, NOW, allow_past=True)
    assert refused.value.loc == ("body", "deadline")


def test_a_deadline_within_the_maximum_is_open_and_a_past_one_only_for_imports() -> None:
    four_years = NOW + timedelta(days=365 * (MAX_DEADLINE_YEARS - 1))
    assert check_deadline(four_years, NOW) is False
    assert check_deadline(NOW - timedelta(days=3000), NOW, allow_past=True) is True
    with pytest.raises(InvalidNoticeError, match="already passed"):
        check_deadline(NOW - timedelta(seconds=1), NOW)


PUBLISHED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("award_date", "words"),
    [
        (date(2026, 12, 3), "in the future"),
        (date(2027, 2, 1), "in the future"),
        (date(2026, 11, 18), "before the notice was published"),
        (date(2010, 5, 10), "before the notice was published"),
    ],
)
def test_an_award_dated_in_the_future_or_before_publication_is_refused_naming_date(
    award_date: date, words: str
) -> None:
    with pytest.raises(InvalidNoticeError, match=words) as refused:
        check_award_date(award_date, NOW, PUBLISHED)
    assert refused.value.loc == ("body", "date")


@pytest.mark.parametrize(
    "award_date",
    [
        date(2026, 11, 20),  # publication day
        date(2026, 11, 19),  # publication day west of UTC
        date(2026, 12, 1),  # today
        date(2026, 12, 2),  # already today east of UTC (22:00 UTC is 12:00 in Kiribati)
    ],
)
def test_an_award_dated_between_publication_and_today_anywhere_on_earth_is_accepted(
    award_date: date,
) -> None:
    check_award_date(award_date, NOW, PUBLISHED)


def test_an_imported_award_is_not_checked_against_the_release_date() -> None:
    check_award_date(date(2010, 5, 10), NOW, None)
    with pytest.raises(InvalidNoticeError, match="in the future"):
        check_award_date(date(2027, 1, 1), NOW, None)


# --- a draft becomes a notice -----------------------------------------------------------------


def a_draft(**changes: Any) -> NoticeDraft:
    body: dict[str, Any] = {
        "reference": "UNICEF-RFQ-2026-001",
        "title": "Isolation gowns for health centres",
        "description": "Disposable isolation gowns.",
        "notice_type": "request_for_quotation",
        "unspsc_codes": ["42131606"],
        "beneficiary_countries": ["SN", "Mali"],
        "deadline": "2027-01-15T17:00:00+01:00",
        "documents": [{"title": "Terms of reference", "url": "https://unicef.example/tor"}],
        "contacts": [{"name": "Supply Division", "email": "supply@unicef.example"}],
    }
    return NoticeDraft.model_validate({**body, **changes})


def a_notice(**changes: Any) -> TenderSnapshot:
    notice = snapshot_from_draft(
        a_draft(), tender_id="T-1", agency="UNICEF", published_at=NOW - timedelta(days=1)
    )
    return notice.model_copy(update=changes)


def test_a_draft_becomes_revision_one_with_its_deadline_in_utc_and_the_agencys_offset_kept() -> (
    None
):
    notice = snapshot_from_draft(
        a_draft(),
        tender_id="T-1",
        agency="UNICEF",
        published_at=NOW,
        url=notice_url("https://tenderwire.example", "T-1"),
        ocid="ocds-213czf-1",
    )

    assert (notice.revision, notice.status) == (1, TenderStatus.PUBLISHED)
    assert notice.deadline == datetime(2027, 1, 15, 16, 0, tzinfo=UTC)
    assert notice.deadline.utcoffset() == timedelta(0)
    assert notice.deadline_utc_offset_minutes == 60
    assert notice.beneficiary_countries == ("SEN", "MLI")
    assert notice.documents == (
        Document(title="Terms of reference", url=AnyHttpUrl("https://unicef.example/tor")),
    )
    assert notice.contacts == (Contact(name="Supply Division", email="supply@unicef.example"),)
    assert str(notice.url) == "https://tenderwire.example/v1/notices/T-1"
    assert (notice.ocid, notice.published_at) == ("ocds-213czf-1", NOW)


def test_a_draft_imported_after_its_deadline_becomes_a_closed_notice_without_a_url() -> None:
    notice = snapshot_from_draft(
        a_draft(), tender_id="T-2", agency="UNDP", published_at=NOW, status=TenderStatus.CLOSED
    )

    assert notice.status is TenderStatus.CLOSED
    assert notice.url is None


@given(minutes=st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_whatever_the_offset_the_deadline_is_the_same_instant_and_reads_back_as_written(
    minutes: int,
) -> None:
    written = datetime(2027, 3, 1, 9, 30, tzinfo=timezone(timedelta(minutes=minutes)))

    notice = snapshot_from_draft(
        a_draft(deadline=written), tender_id="T-1", agency="UNDP", published_at=NOW
    )

    assert notice.deadline == written
    assert notice.deadline.tzinfo == UTC
    assert notice.deadline_utc_offset_minutes == minutes
    local = timezone(timedelta(minutes=notice.deadline_utc_offset_minutes))
    assert notice.deadline.astimezone(local).isoformat() == written.isoformat()


# --- what an amendment changes ----------------------------------------------------------------

AMENDABLE = [
    "title",
    "description",
    "notice_type",
    "unspsc_codes",
    "cpv_codes",
    "classifications",
    "beneficiary_countries",
    "deadline",
    "documents",
    "contacts",
]


def test_the_amendable_fields_are_the_amendments_own() -> None:
    assert list(domain.AMENDABLE) == AMENDABLE
    assert [f for f in Amendment.model_fields if f != "reason"] == AMENDABLE


@pytest.mark.parametrize("field", AMENDABLE)
def test_a_field_proposed_as_it_stands_is_no_change(field: str) -> None:
    notice = a_notice()

    assert what_changed(notice, {field: getattr(notice, field)}) == ()


def test_what_changed_reads_lists_as_lists_and_deadlines_as_instants() -> None:
    notice = a_notice()
    same_instant = notice.deadline.astimezone(timezone(timedelta(hours=-5)))

    proposed = {
        "unspsc_codes": list(notice.unspsc_codes),
        "documents": list(notice.documents),
        "deadline": same_instant,
    }

    assert what_changed(notice, proposed) == ()


def test_what_changed_says_before_and_after_in_json_in_the_order_proposed() -> None:
    notice = a_notice()
    later = datetime(2027, 2, 1, 12, 0, tzinfo=timezone(timedelta(hours=3)))

    changes = what_changed(
        notice, {"title": notice.title, "deadline": later, "unspsc_codes": ("42131606", "1")}
    )

    assert changes == (
        FieldChange(
            field="deadline", before="2027-01-15T16:00:00+00:00", after="2027-02-01T09:00:00+00:00"
        ),
        FieldChange(field="unspsc_codes", before=["42131606"], after=["42131606", "1"]),
    )


@settings(max_examples=examples(50))
@given(title=st.text(min_size=1, max_size=50))
def test_a_new_title_is_one_change_and_only_a_different_one_is(title: str) -> None:
    notice = a_notice()

    changes = what_changed(notice, {"title": title})

    if title == notice.title:
        assert changes == ()
    else:
        assert changes == (FieldChange(field="title", before=notice.title, after=title),)


def test_comparable_is_the_json_form_whatever_the_container() -> None:
    document = Document(title="ToR", url=AnyHttpUrl("https://x.org/d"))

    assert (
        comparable((document,))
        == comparable([document])
        == [{"title": "ToR", "url": "https://x.org/d"}]
    )
    assert comparable(datetime(2027, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))) == (
        "2027-01-01T00:00:00+00:00"
    )
    assert comparable(NoticeType.INVITATION_TO_BID) == "invitation_to_bid"


def test_an_amendment_is_the_next_revision_with_only_what_changed() -> None:
    notice = a_notice()
    later = datetime(2027, 2, 1, 12, 0, tzinfo=timezone(timedelta(hours=3)))

    following, changes = amended(notice, {"title": notice.title, "deadline": later}, NOW)

    assert [c.field for c in changes] == ["deadline"]
    assert (following.revision, following.status) == (2, TenderStatus.AMENDED)
    assert following.deadline == later
    assert following.deadline.tzinfo == UTC
    assert following.deadline_utc_offset_minutes == 180
    assert following.title == notice.title
    assert notice.revision == 1  # the notice it started from is left as it was


def test_an_amendment_may_swap_unspsc_for_cpv_codes_but_never_leave_none() -> None:
    notice = a_notice(unspsc_codes=("42131606",), cpv_codes=())

    swapped, changes = amended(notice, {"cpv_codes": ("33141100",)}, NOW)
    assert [c.field for c in changes] == ["cpv_codes"]
    assert swapped.cpv_codes == ("33141100",)
    cpv_only = swapped.model_copy(update={"unspsc_codes": ()})
    with pytest.raises(InvalidNoticeError, match="would leave none") as refused:
        amended(cpv_only, {"cpv_codes": ()}, NOW)
    assert refused.value.loc == ("body", "cpv_codes")


def test_an_amendment_that_changes_nothing_is_refused_as_a_whole() -> None:
    notice = a_notice()

    with pytest.raises(InvalidNoticeError, match="changes nothing") as refused:
        amended(notice, {"title": notice.title}, NOW)

    assert refused.value.loc == ("body",)


def test_an_amendment_moving_the_deadline_into_the_past_is_refused_naming_it() -> None:
    with pytest.raises(InvalidNoticeError, match="already passed") as refused:
        amended(a_notice(), {"deadline": NOW - timedelta(hours=1)}, NOW)

    assert refused.value.loc == ("body", "deadline")


@pytest.mark.parametrize(
    "status", [TenderStatus.CLOSED, TenderStatus.CANCELLED, TenderStatus.AWARDED]
)
def test_only_an_open_notice_is_amended(status: TenderStatus) -> None:
    with pytest.raises(IllegalTransitionError, match="cannot amend"):
        amended(a_notice(status=status), {"title": "Another"}, NOW)


def test_every_event_raises_the_revision_by_one() -> None:
    notice = a_notice(revision=4)

    cancelled = next_revision(notice, TenderStatus.CANCELLED, cancellation_reason="Budget cut")

    assert (cancelled.revision, cancelled.status) == (5, TenderStatus.CANCELLED)
    assert cancelled.cancellation_reason == "Budget cut"


def test_an_amendment_proposes_its_fields_as_the_notice_holds_them() -> None:
    amendment = Amendment.model_validate(
        {
            "reason": "r",
            "documents": [{"title": "ToR", "url": "https://x.org/d"}],
            "title": "T",
            "unspsc_codes": ["42131606"],
        }
    )

    proposed = amendment.proposed()

    assert list(proposed) == ["title", "unspsc_codes", "documents"]  # the model's order
    assert proposed["documents"] == (Document(title="ToR", url=AnyHttpUrl("https://x.org/d")),)
    assert proposed["unspsc_codes"] == ("42131606",)


# --- agencies and Idempotency-Keys ------------------------------------------------------------


@pytest.mark.parametrize("code", ["UNDP", "UN-WOMEN", "W1"])
def test_an_agency_code_is_capitals_digits_and_dashes(code: str) -> None:
    check_agency_code(code)


@pytest.mark.parametrize("code", ["undp", "U", "1UNDP", "UN DP", "A" * 21])
def test_anything_else_is_not_an_agency_code(code: str) -> None:
    with pytest.raises(AgencyError, match="capital letters"):
        check_agency_code(code)


def test_only_the_digest_of_an_api_key_is_kept() -> None:
    digest = hash_api_key("twk_secret")

    assert digest != "twk_secret"
    assert len(digest) == 64
    assert hash_api_key("twk_secret") == digest


@pytest.mark.parametrize("key", ["", "has space", "tab\there", "é", "k" * 201])
def test_a_malformed_idempotency_key_is_refused(key: str) -> None:
    with pytest.raises(IdempotencyKeyError, match="printable ASCII"):
        check_idempotency_key(key)


@given(
    body=st.dictionaries(
        st.text(max_size=5), st.integers() | st.text(max_size=5), min_size=1, max_size=6
    )
)
def test_a_request_fingerprint_ignores_the_order_of_the_keys_and_nothing_else(
    body: dict[str, Any],
) -> None:
    reordered = dict(reversed(list(body.items())))

    assert request_fingerprint("POST", "/v1/notices", body) == request_fingerprint(
        "POST", "/v1/notices", reordered
    )
    assert request_fingerprint("POST", "/v1/notices", body) != request_fingerprint(
        "POST", "/v1/notices/x/amendments", body
    )
    first = next(iter(body))
    changed = {**body, first: f"{body[first]}!"}
    assert request_fingerprint("POST", "/v1/notices", body) != request_fingerprint(
        "POST", "/v1/notices", changed
    )
