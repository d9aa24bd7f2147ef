"""The notice lifecycle as a state machine, and the errors its use cases raise."""

from __future__ import annotations

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

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_transition(status: TenderStatus, action: Action) -> None:
    if status in ALLOWED_FROM[action]:
        return
    why = _WHY.get((action, status))
    if why is None:
        final = status in (TenderStatus.CANCELLED, TenderStatus.AWARDED)
        why = "that is final" if final else f"{action.value} is not allowed from {status.value}"
    raise IllegalTransitionError(f"cannot {action.value} a notice that is {status.value}: {why}")
