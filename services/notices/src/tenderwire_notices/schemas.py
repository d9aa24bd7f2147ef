"""What agencies send and receive over HTTP (and, with the same models, over Kafka)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pycountry
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tenderwire_shared.countries import CountryCode
from tenderwire_shared.events.tenders import (
    Award,
    Contact,
    Document,
    FieldChange,
    NoticeType,
    TenderSnapshot,
)
from tenderwire_shared.text import PlainLine, PlainParagraphs
from tenderwire_shared.unspsc import UnspscCode

Title = PlainLine
Reason = PlainParagraphs


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class NoticeDraft(BaseModel):
    """A new notice. The agency is the one the API key belongs to."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: PlainLine = Field(min_length=1, max_length=200, examples=["UNDP-SEN-00123"])
    title: Title = Field(min_length=1, max_length=500)
    description: PlainParagraphs = Field(default="", max_length=20_000)
    language: str = Field(default="en", description="ISO 639-1", examples=["fr"])
    notice_type: NoticeType
    unspsc_codes: list[UnspscCode] = Field(
        max_length=200, description="At least one, except for OCDS imports classified otherwise"
    )
    beneficiary_countries: list[CountryCode] = Field(
        default_factory=list,
        max_length=250,
        description="ISO 3166 alpha-2, alpha-3 or English names; empty for multiple destinations",
    )
    deadline: AwareDatetime = Field(
        description="With the agency's UTC offset, e.g. 2026-12-20T14:00:00+01:00"
    )

    @field_validator("unspsc_codes", mode="after")
    @classmethod
    def _at_least_one_code(cls, values: list[str], info: ValidationInfo) -> list[str]:
        # OCDS releases classified only with other schemes (CPV...) import without codes;
        # agencies publishing directly must say what they buy.
        importing = isinstance(info.context, dict) and info.context.get("ocds_import")
        if not values and not importing:
            raise ValueError("at least one UNSPSC code is required")
        return values

    documents: list[Document] = Field(default_factory=list, max_length=50)
    contacts: list[Contact] = Field(default_factory=list, max_length=20)

    @field_validator("unspsc_codes", "beneficiary_countries")
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


class Amendment(BaseModel):
    """A revision: the reason, and only the fields that change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason = Field(min_length=1, max_length=2000)
    title: Title | None = Field(default=None, min_length=1, max_length=500)
    description: PlainParagraphs | None = Field(default=None, max_length=20_000)
    notice_type: NoticeType | None = None
    unspsc_codes: list[UnspscCode] | None = Field(default=None, min_length=1, max_length=200)
    beneficiary_countries: list[CountryCode] | None = Field(default=None, max_length=250)
    deadline: AwareDatetime | None = None
    documents: list[Document] | None = Field(default=None, max_length=50)
    contacts: list[Contact] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _changes_something(self) -> Amendment:
        if not self.model_fields_set - {"reason"}:
            raise ValueError("an amendment must change at least one field besides the reason")
        return self


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Reason = Field(min_length=1, max_length=2000)


class AwardDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    supplier_name: PlainLine = Field(min_length=1, max_length=300)
    supplier_country: CountryCode
    amount: Decimal = Field(ge=0, max_digits=20, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])
    date: date

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if pycountry.currencies.get(alpha_3=value) is None:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
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
