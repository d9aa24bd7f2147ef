from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tenderwire_notices.domain import (
    ALLOWED_FROM,
    MAX_DEADLINE_YEARS,
    Action,
    IllegalTransitionError,
    InvalidNoticeError,
    check_award_date,
    check_deadline,
    check_transition,
)
from tenderwire_shared.events.tenders import TenderStatus


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
