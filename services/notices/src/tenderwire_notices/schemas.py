"""What agencies send and receive over HTTP and, with the same models, over Kafka: the notice
bodies, the commands that carry them, the replies and the search page's cursor."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any

import email_validator
import phonenumbers
import pycountry
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    UrlConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tenderwire_notices.domain import MAX_DEADLINE_YEARS, NOTICE_ID_PATTERN
from tenderwire_shared.countries import CountryCode
from tenderwire_shared.cpv import CpvCode
from tenderwire_shared.envelope import Envelope
from tenderwire_shared.events.tenders import (
    Award,
    Classification,
    Contact,
    Document,
    FieldChange,
    NoticeType,
    TenderSnapshot,
)
from tenderwire_shared.text import PlainLine, PlainParagraphs, check_line
from tenderwire_shared.unspsc import UnspscCode

Title = PlainLine
Reason = PlainParagraphs

DEADLINE_EXAMPLE = "2026-12-20T14:00:00+01:00"
# The event model's limits (Contact.email, Contact.phone).
MAX_EMAIL_LENGTH = 320
MAX_PHONE_LENGTH = 40
# The date and the time at least, as ISO 8601 writes them; the offset is AwareDatetime's check.
_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _iso_date_time_text(value: object) -> object:
    # Pydantic alone would read 1767225600 (or "1767225600") as a Unix time: a number whose
    # offset nobody chose. Python callers (the OCDS mapping) hand over datetimes.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise ValueError(
            f"must be an ISO 8601 date-time with a UTC offset, e.g. {DEADLINE_EXAMPLE}"
        )
    return value


def _has_utc_instant(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)  # 9999-12-31T23:00-05:00 is a moment after the last datetime
    except OverflowError as exc:
        raise ValueError("is beyond the last date-time that can be stored") from exc
    return value


Deadline = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_date_time_text),
    AfterValidator(_has_utc_instant),
]


def _iso_date_text(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date, e.g. 2027-02-01")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]


def check_email(value: str) -> str:
    """A well-formed address, normalised; nothing is looked up (no DNS), so it never waits."""
    try:
        checked = email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"is not a valid e-mail address: {exc}") from exc
    if len(checked.normalized) > MAX_EMAIL_LENGTH:  # normalising can lengthen it
        raise ValueError(f"is longer than {MAX_EMAIL_LENGTH} characters")
    return checked.normalized


def check_phone(value: str, region: str | None = None) -> str:
    """A real phone number in E.164, with its extension if it has one. Without `region` the
    number must be international (+ and the country code); with it, national numbers of
    that ISO 3166 alpha-2 country are read too."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            "is not a phone number in international form, e.g. +221 33 869 00 00"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number: no such number range in its country")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # E.164 has no room for an extension; RFC 3966's parameter keeps the one bidders need.
    stored = f"{e164};ext={number.extension}" if number.extension else e164
    if len(stored) > MAX_PHONE_LENGTH:
        raise ValueError(f"is longer than {MAX_PHONE_LENGTH} characters with its extension")
    return stored


Email = Annotated[
    str,
    StringConstraints(max_length=MAX_EMAIL_LENGTH),
    AfterValidator(check_line),
    AfterValidator(check_email),
]
Phone = Annotated[
    str,
    StringConstraints(max_length=MAX_PHONE_LENGTH),
    AfterValidator(check_line),
    AfterValidator(check_phone),
]


class DocumentUrl(AnyHttpUrl):
    _constraints = UrlConstraints(
        max_length=2000, allowed_schemes=["http", "https"], host_required=True
    )


def _url_text(value: object) -> object:
    if isinstance(value, str):
        check_line(value)  # a URL parser would quietly percent-encode or drop the bytes
    return value


def _no_credentials(url: DocumentUrl) -> DocumentUrl:
    if url.username or url.password:
        raise ValueError("must not carry a user name or password: every supplier reads it")
    return url


class NoticeDocument(BaseModel):
    """A document as agencies send it; stored and announced as the event model's Document."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    title: PlainLine = Field(min_length=1, max_length=500)
    url: Annotated[DocumentUrl, BeforeValidator(_url_text), AfterValidator(_no_credentials)]

    def as_event(self) -> Document:
        return Document(title=self.title, url=AnyHttpUrl(str(self.url)))


class NoticeContact(BaseModel):
    """A contact as agencies send it; stored and announced as the event model's Contact."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: PlainLine = Field(min_length=1, max_length=200)
    email: Email | None = Field(
        default=None,
        description="Checked for form (email-validator), not for deliverability: no DNS lookup",
        examples=["procurement.dakar@unicef.org"],
    )
    phone: Phone | None = Field(
        default=None,
        description="International form, + and the country code; stored in E.164",
        examples=["+221 33 869 00 00"],
    )

    def as_event(self) -> Contact:
        return Contact(name=self.name, email=self.email, phone=self.phone)


class ClassificationInput(Classification):
    """An item classification as an agency sends it: plain text like every other field, so a
    NUL (which PostgreSQL's jsonb cannot store) or markup is a 422 naming it, not a 500."""

    scheme: PlainLine = Field(min_length=1, max_length=40, description="As the source names it")
    code: PlainLine = Field(min_length=1, max_length=100)
    description: PlainLine | None = Field(default=None, max_length=1000)


def _as_input(value: Any) -> Any:
    # The OCDS import builds the shared model; it is judged by the same rule as a caller's.
    return value.model_dump() if isinstance(value, Classification) else value


ClassificationItem = Annotated[ClassificationInput, BeforeValidator(_as_input)]


class NoticeDraft(BaseModel):
    """A new notice. The agency is the one the API key belongs to."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: PlainLine = Field(min_length=1, max_length=200, examples=["UNDP-SEN-00123"])
    title: Title = Field(min_length=1, max_length=500)
    description: PlainParagraphs = Field(default="", max_length=20_000)
    language: str = Field(default="en", description="ISO 639-1", examples=["fr"])
    notice_type: NoticeType
    # Before unspsc_codes, whose check reads it.
    cpv_codes: list[CpvCode] = Field(
        default_factory=list,
        max_length=200,
        description="CPV codes, with or without the check digit (45233162 or 45233162-2)",
        examples=[["45233162-2"]],
    )
    unspsc_codes: list[UnspscCode] = Field(
        default_factory=list,
        validate_default=True,
        max_length=200,
        description=(
            "UNSPSC codes, CPV codes or both: at least one code, except for OCDS imports"
            " classified otherwise"
        ),
    )
    classifications: list[ClassificationItem] = Field(
        default_factory=list,
        max_length=500,
        description="Item classifications in any scheme (scheme, code, description), shown",
    )
    beneficiary_countries: list[CountryCode] = Field(
        default_factory=list,
        max_length=250,
        description="ISO 3166 alpha-2, alpha-3 or English names; empty for multiple destinations",
    )
    deadline: Deadline = Field(
        description=(
            f"ISO 8601 with the agency's UTC offset, e.g. {DEADLINE_EXAMPLE}; in the future and"
            f" at most {MAX_DEADLINE_YEARS} years ahead. Unix times and offset-less times are"
            " refused"
        )
    )

    @field_validator("unspsc_codes", mode="after")
    @classmethod
    def _at_least_one_code(cls, values: list[str], info: ValidationInfo) -> list[str]:
        # OCDS releases classified only with other schemes (GSIN, CPC...) import without
        # codes; agencies publishing directly must say what they buy, in UNSPSC or CPV.
        importing = isinstance(info.context, dict) and info.context.get("ocds_import")
        # cpv_codes is missing from `info.data` when it was refused: that error says enough.
        cpv_codes = info.data.get("cpv_codes", ["refused"])
        if not values and not cpv_codes and not importing:
            raise ValueError("at least one UNSPSC code is required, or a CPV code in cpv_codes")
        return values

    documents: list[NoticeDocument] = Field(default_factory=list, max_length=50)
    contacts: list[NoticeContact] = Field(default_factory=list, max_length=20)

    @field_validator("unspsc_codes", "cpv_codes", "beneficiary_countries")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        return _dedupe(values)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        code = value.lower()
        if len(code) != 2 or pycountry.languages.get(alpha_2=code) is None:
            raise ValueError(f"{value!r} is not an ISO 639-1 language code")
        return code


_UNCHANGED = "Left out or null: unchanged."


class Amendment(BaseModel):
    """A revision: the reason, and only the fields that change. A field left out or sent as
    null keeps its value; to empty a field that may be empty, send "" or []."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason = Field(min_length=1, max_length=2000)
    title: Title | None = Field(
        default=None, min_length=1, max_length=500, description=f"{_UNCHANGED} Never empty"
    )
    description: PlainParagraphs | None = Field(
        default=None, max_length=20_000, description=f'{_UNCHANGED} "" empties it'
    )
    notice_type: NoticeType | None = Field(default=None, description=_UNCHANGED)
    unspsc_codes: list[UnspscCode] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description=f"{_UNCHANGED} The new list, at least one code",
    )
    cpv_codes: list[CpvCode] | None = Field(
        default=None,
        max_length=200,
        description=f"{_UNCHANGED} The new list; [] removes them if UNSPSC codes remain",
    )
    classifications: list[ClassificationItem] | None = Field(
        default=None, max_length=500, description=f"{_UNCHANGED} The new list; [] removes all"
    )
    beneficiary_countries: list[CountryCode] | None = Field(
        default=None,
        max_length=250,
        description=f"{_UNCHANGED} The new list; [] for multiple or unspecified destinations",
    )
    deadline: Deadline | None = Field(
        default=None,
        description=f"{_UNCHANGED} As on publication: ISO 8601 with the UTC offset, in the future",
    )
    documents: list[NoticeDocument] | None = Field(
        default=None, max_length=50, description=f"{_UNCHANGED} The new list; [] removes all"
    )
    contacts: list[NoticeContact] | None = Field(
        default=None, max_length=20, description=f"{_UNCHANGED} The new list; [] removes all"
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_unchanged(cls, data: Any) -> Any:
        # The OpenAPI says every field but the reason is nullable, and clients that serialise
        # a whole form send null for what they leave alone: read it as "not changed", so a
        # null can never reach the notice, not even one for a field that may not be empty.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k == "reason"}
        return data

    @model_validator(mode="after")
    def _changes_something(self) -> Amendment:
        if not self.model_fields_set - {"reason"}:
            raise ValueError("an amendment must change at least one field besides the reason")
        return self

    def proposed(self) -> dict[str, Any]:
        """The fields it sets, besides the reason, in the model's order and valued as the
        notice holds them (documents and contacts as the event models)."""
        return {
            name: _as_stored(getattr(self, name))
            for name in type(self).model_fields
            if name != "reason" and name in self.model_fields_set
        }


def _as_stored(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_stored(v) for v in value)
    if isinstance(value, NoticeDocument | NoticeContact):
        return value.as_event()
    return value


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason = Field(min_length=1, max_length=2000)


# ISO 4217's codes for "no currency" and "testing": valid codes, never a contract's money.
_NOT_MONEY = frozenset({"XXX", "XTS"})


class AwardDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    supplier_name: PlainLine = Field(min_length=1, max_length=300)
    supplier_country: CountryCode
    amount: Decimal = Field(ge=0, max_digits=20, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])
    date: IsoDate = Field(
        description="ISO 8601 (YYYY-MM-DD); not in the future, not before the notice's publication"
    )

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if pycountry.currencies.get(alpha_3=value) is None:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        if value in _NOT_MONEY:
            raise ValueError(f"{value!r} is an ISO 4217 code for no currency, not one to pay in")
        return value

    @field_validator("amount")
    @classmethod
    def _plain_amount(cls, value: Decimal) -> Decimal:
        # "1E+5" and "-0" are 100000 and 0, and Decimal keeps the notation it was given: the
        # award, its event and its OCDS export would carry them as written.
        value = value + 0  # a negative zero plus zero is zero
        if value.as_tuple().exponent > 0:  # type: ignore[operator]
            value = value.quantize(Decimal(1))
        return value

    def to_award(self) -> Award:
        return Award(**self.model_dump())


class Revision(BaseModel):
    revision: int
    event_type: str
    reason: str | None
    changes: list[FieldChange]
    occurred_at: datetime


class NoticeView(BaseModel):
    id: str
    agency: str
    reference: str
    title: str
    description: str
    language: str
    notice_type: NoticeType
    status: str
    revision: int
    unspsc_codes: list[str]
    cpv_codes: list[str] = []
    classifications: list[Classification] = []
    beneficiary_countries: list[str]
    deadline: datetime
    deadline_local: datetime
    published_at: datetime
    documents: list[Document]
    contacts: list[Contact]
    url: str | None
    ocid: str | None
    cancellation_reason: str | None
    award: Award | None
    revisions: list[Revision] | None = None

    @classmethod
    def of(cls, tender: TenderSnapshot, revisions: list[Revision] | None = None) -> NoticeView:
        offset = timezone(timedelta(minutes=tender.deadline_utc_offset_minutes))
        return cls(
            id=tender.tender_id,
            agency=tender.agency,
            reference=tender.reference,
            title=tender.title,
            description=tender.description,
            language=tender.language,
            notice_type=tender.notice_type,
            status=tender.status.value,
            revision=tender.revision,
            unspsc_codes=list(tender.unspsc_codes),
            cpv_codes=list(tender.cpv_codes),
            classifications=list(tender.classifications),
            beneficiary_countries=list(tender.beneficiary_countries),
            deadline=tender.deadline,
            deadline_local=tender.deadline.astimezone(offset),
            published_at=tender.published_at,
            documents=list(tender.documents),
            contacts=list(tender.contacts),
            url=str(tender.url) if tender.url else None,
            ocid=tender.ocid,
            cancellation_reason=tender.cancellation_reason,
            award=tender.award,
            revisions=revisions,
        )


class NoticePage(BaseModel):
    items: list[NoticeView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


def encode_cursor(published_at: datetime, notice_id: str) -> str:
    raw = json.dumps([published_at.isoformat(), notice_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError for anything that is not a cursor this service made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        published_at, notice_id = json.loads(raw)
        moment = datetime.fromisoformat(published_at)
        # Both reach SQL: a hand-made cursor must not bring a NUL, a naive time or a year
        # PostgreSQL's driver cannot convert.
        moment.astimezone(UTC)
        if moment.tzinfo is None or not NOTICE_ID_PATTERN.match(notice_id):
            raise ValueError("not a cursor this service made")
    except Exception as exc:
        raise ValueError(
            "cursor is not valid; pass back the next_cursor of a previous page"
        ) from exc
    return moment, notice_id


# --- commands over Kafka ----------------------------------------------------------------------
# Each message is an envelope whose `type` names the command and whose `data` holds the same
# body the HTTP call takes, plus the agency.

PUBLISH = "notice.publish"
AMEND = "notice.amend"
CANCEL = "notice.cancel"
AWARD = "notice.award"


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency: str = Field(min_length=1, max_length=20)


class PublishCommand(_Command):
    notice: NoticeDraft


class AmendCommand(_Command):
    notice_id: str = Field(min_length=1, max_length=64)
    amendment: Amendment


class CancelCommand(_Command):
    notice_id: str = Field(min_length=1, max_length=64)
    cancellation: Cancellation


class AwardCommand(_Command):
    notice_id: str = Field(min_length=1, max_length=64)
    award: AwardDecision


Command = PublishCommand | AmendCommand | CancelCommand | AwardCommand

COMMAND_MODELS: dict[str, type[Command]] = {
    PUBLISH: PublishCommand,
    AMEND: AmendCommand,
    CANCEL: CancelCommand,
    AWARD: AwardCommand,
}

CommandEnvelope = Envelope[Command]
