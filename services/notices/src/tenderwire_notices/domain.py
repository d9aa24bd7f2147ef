"""The notice lifecycle as a state machine, and the errors its use cases raise."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from tenderwire_shared.events.tenders import TenderStatus


class Action(StrEnum):
    AMEND = "amend"
    CLOSE = "close"
    CANCEL = "cancel"
    AWARD = "award"


OPEN = frozenset({TenderStatus.PUBLISHED, TenderStatus.AMENDED})

ALLOWED_FROM: dict[Action, frozenset[TenderStatus]] = {
    Action.AMEND: OPEN,
    Action.CLOSE: OPEN,
    Action.CANCEL: OPEN | {TenderStatus.CLOSED},
    Action.AWARD: frozenset({TenderStatus.CLOSED}),
}

_WHY: dict[tuple[Action, TenderStatus], str] = {
    (
        Action.AMEND,
        TenderStatus.CLOSED,
    ): "its deadline has passed; it can only be awarded or cancelled",
    (Action.AWARD, TenderStatus.PUBLISHED): "it is still open; a notice is awarded after it closes",
    (Action.AWARD, TenderStatus.AMENDED): "it is still open; a notice is awarded after it closes",
    (Action.CANCEL, TenderStatus.AWARDED): "an awarded notice can no longer be cancelled",
}


class NoticeError(Exception):
    """A use case refused; the message says why, for the agency to read."""


class NoticeNotFoundError(NoticeError):
    pass


class IllegalTransitionError(NoticeError):
    pass


class DuplicateReferenceError(NoticeError):
    pass


class InvalidNoticeError(NoticeError):
    """Valid in shape but not in substance (a deadline already past, say)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        # Where the problem is in the request: the whole body when no one field is at fault.
        self.loc: tuple[str, ...] = ("body", field) if field else ("body",)


def check_transition(status: TenderStatus, action: Action) -> None:
    if status in ALLOWED_FROM[action]:
        return
    why = _WHY.get((action, status))
    if why is None:
        final = status in (TenderStatus.CANCELLED, TenderStatus.AWARDED)
        why = "that is final" if final else f"{action.value} is not allowed from {status.value}"
    raise IllegalTransitionError(f"cannot {action.value} a notice that is {status.value}: {why}")


# The longest calls agencies run (pre-qualification rosters, calls for implementing partners)
# stay open about a year; five years leaves them room and still catches a mistyped year
# (2062 for 2026, 9999 for "no deadline"), which would keep a notice open for ever.
MAX_DEADLINE_YEARS = 5
MAX_DEADLINE_AHEAD = timedelta(days=365 * MAX_DEADLINE_YEARS + 1)

# A date names a day somewhere on Earth: from UTC-12 to UTC+14, today's date is one of these.
_EARLIEST_ZONE = timedelta(hours=-12)
_LATEST_ZONE = timedelta(hours=14)


def check_deadline(deadline: datetime, now: datetime, *, allow_past: bool = False) -> bool:
    """Whether the deadline has passed; refused if it is too far ahead, or past when that is
    not allowed (only imports of old releases may bring a deadline that has passed)."""
    if deadline - now > MAX_DEADLINE_AHEAD:
        raise InvalidNoticeError(
            "deadline",
            f"{deadline.isoformat()} is more than {MAX_DEADLINE_YEARS} years ahead; check the year",
        )
    passed = deadline <= now
    if passed and not allow_past:
        raise InvalidNoticeError("deadline", f"{deadline.isoformat()} has already passed")
    return passed


def check_award_date(award_date: date, now: datetime, published_at: datetime | None) -> None:
    """An award is recorded once it is made, and is made after the notice was published
    (`published_at` None: not checked against it).

    A bare date has no time zone, so the check grants the widest reading: "today" is any date
    that is today somewhere, and publication day any date it was somewhere.
    """
    if award_date > (now + _LATEST_ZONE).date():
        raise InvalidNoticeError(
            "date", f"{award_date.isoformat()} is in the future; record an award once it is made"
        )
    if published_at is not None and award_date < (published_at + _EARLIEST_ZONE).date():
        raise InvalidNoticeError(
            "date",
            f"{award_date.isoformat()} is before the notice was published"
            f" ({published_at.date().isoformat()})",
        )
