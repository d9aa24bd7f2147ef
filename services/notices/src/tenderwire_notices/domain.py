"""The notice's rules, pure: the lifecycle as a state machine, what a draft becomes, what an
amendment changes, and the checks on deadlines, awards, agency codes and Idempotency-Keys.

No I/O and no clock: the time is always a parameter.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import AnyHttpUrl, BaseModel

from tenderwire_shared.events.tenders import FieldChange, TenderSnapshot, TenderStatus

if TYPE_CHECKING:
    from tenderwire_notices.schemas import NoticeDraft


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

_STILL_OPEN = "it is still open; a notice is awarded after it closes"
_WHY: dict[tuple[Action, TenderStatus], str] = {
    (Action.AMEND, TenderStatus.CLOSED): (
        "its deadline has passed; it can only be awarded or cancelled"
    ),
    (Action.AWARD, TenderStatus.PUBLISHED): _STILL_OPEN,
    (Action.AWARD, TenderStatus.AMENDED): _STILL_OPEN,
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


class AgencyError(Exception):
    """An operator's agency or API-key command refused; the message says why."""


class IdempotencyKeyError(Exception):
    """The key is malformed, or was already used for a different request."""


def check_transition(status: TenderStatus, action: Action) -> None:
    if status in ALLOWED_FROM[action]:
        return
    why = _WHY.get((action, status))
    if why is None:
        final = status in (TenderStatus.CANCELLED, TenderStatus.AWARDED)
        why = "that is final" if final else f"{action.value} is not allowed from {status.value}"
    raise IllegalTransitionError(f"cannot {action.value} a notice that is {status.value}: {why}")


# --- deadlines and awards ---------------------------------------------------------------------

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


def utc_offset_minutes(moment: datetime) -> int:
    """The offset the agency wrote its deadline in, kept for display."""
    offset = moment.utcoffset()
    assert offset is not None  # AwareDatetime guarantees it
    return int(offset.total_seconds() // 60)


# --- the notice -------------------------------------------------------------------------------

# Notice ids are checked before they reach SQL: a NUL byte would make PostgreSQL fail.
NOTICE_ID = r"^[A-Za-z0-9-]{1,64}$"
NOTICE_ID_PATTERN = re.compile(NOTICE_ID)


def notice_url(public_base_url: str, tender_id: str) -> str:
    return f"{public_base_url}/v1/notices/{tender_id}"


def snapshot_from_draft(
    draft: NoticeDraft,
    *,
    tender_id: str,
    agency: str,
    published_at: datetime,
    status: TenderStatus = TenderStatus.PUBLISHED,
    url: str | None = None,
    ocid: str | None = None,
) -> TenderSnapshot:
    """The first revision of a notice, as the agency's draft describes it: the deadline in UTC
    with the agency's offset kept, documents and contacts as events carry them."""
    return TenderSnapshot(
        tender_id=tender_id,
        revision=1,
        status=status,
        agency=agency,
        reference=draft.reference,
        title=draft.title,
        description=draft.description,
        language=draft.language,
        notice_type=draft.notice_type,
        unspsc_codes=tuple(draft.unspsc_codes),
        cpv_codes=tuple(draft.cpv_codes),
        classifications=tuple(draft.classifications),
        beneficiary_countries=tuple(draft.beneficiary_countries),
        deadline=draft.deadline.astimezone(UTC),
        deadline_utc_offset_minutes=utc_offset_minutes(draft.deadline),
        published_at=published_at,
        documents=tuple(d.as_event() for d in draft.documents),
        contacts=tuple(c.as_event() for c in draft.contacts),
        url=AnyHttpUrl(url) if url is not None else None,
        ocid=ocid,
    )


# What an amendment can change, in the order an amendment lists them.
AMENDABLE = (
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
)


def comparable(value: Any) -> Any:
    """What a field's value says, in JSON form: models as their JSON, lists and tuples alike,
    and aware date-times as UTC instants, whatever offset they were written with."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [comparable(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def what_changed(current: TenderSnapshot, proposed: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The amendment diff: each proposed field (valued as the notice holds it) that says
    something other than the notice does, in the order proposed, before and after in JSON form.

    The one decision of what an amendment changes: for the API and Kafka commands, for OCDS
    imports, and for the OCDS export naming what each revision changed.
    """
    changes: list[FieldChange] = []
    for field, new in proposed.items():
        before, after = comparable(getattr(current, field)), comparable(new)
        if before != after:
            changes.append(FieldChange(field=field, before=before, after=after))
    return tuple(changes)


def next_revision(current: TenderSnapshot, status: TenderStatus, **changes: Any) -> TenderSnapshot:
    """`current` after one more event: every event raises the revision by one."""
    return current.model_copy(
        update={**changes, "revision": current.revision + 1, "status": status}
    )


def amended(
    current: TenderSnapshot, proposed: Mapping[str, Any], now: datetime
) -> tuple[TenderSnapshot, tuple[FieldChange, ...]]:
    """The notice amended with `proposed` (values as the notice holds them), and what changed.

    A new deadline is checked like a new notice's and stored in UTC with the agency's offset; an
    amendment that changes nothing is refused.
    """
    check_transition(current.status, Action.AMEND)
    values = dict(proposed)
    update: dict[str, Any] = {}
    if "deadline" in values:
        deadline: datetime = values["deadline"]
        check_deadline(deadline, now)
        update["deadline_utc_offset_minutes"] = utc_offset_minutes(deadline)
        values["deadline"] = deadline.astimezone(UTC)
    changes = what_changed(current, values)
    if not changes:
        raise InvalidNoticeError(None, "the amendment changes nothing")
    codes = {"unspsc_codes", "cpv_codes"}
    had_codes = bool(current.unspsc_codes or current.cpv_codes)
    keeps = [values.get(name, getattr(current, name)) for name in codes]
    if had_codes and codes & values.keys() and not any(keeps):
        raise InvalidNoticeError(
            "cpv_codes", "a notice needs UNSPSC or CPV codes: the amendment would leave none"
        )
    update.update({change.field: values[change.field] for change in changes})
    following = next_revision(current, TenderStatus.AMENDED, **update)
    return TenderSnapshot.model_validate(following.model_dump()), changes


# --- agencies ---------------------------------------------------------------------------------

AGENCY_CODE = r"^[A-Z][A-Z0-9-]{1,19}$"
_AGENCY_CODE = re.compile(AGENCY_CODE)
API_KEY_PREFIX = "twk_"


def check_agency_code(code: str) -> None:
    if not _AGENCY_CODE.match(code):
        raise AgencyError(f"agency code {code!r} must be 2-20 capital letters, digits or '-'")


def hash_api_key(key: str) -> str:
    """What is stored of an API key: its digest, never the key."""
    return hashlib.sha256(key.encode()).hexdigest()


# --- Idempotency-Key --------------------------------------------------------------------------

IDEMPOTENCY_KEY = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def check_idempotency_key(key: str) -> None:
    if not _IDEMPOTENCY_KEY.match(key):
        raise IdempotencyKeyError("Idempotency-Key must be 1-200 printable ASCII characters")


def request_fingerprint(method: str, path: str, body: Any) -> str:
    """The same request, whatever the order of its keys: what a key's retries must match."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()
