"""Payloads of events on the tenders topic, written only by the notices service.

Every event carries the whole tender as it stands after the change (`tender`), so a consumer
never needs an earlier event to act on a later one. `tender.revision` goes up by one with
every event about that tender; consumers ignore a revision older than one they have applied.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field

from tenderwire_shared.cpv import CpvCode
from tenderwire_shared.unspsc import UnspscCode

TENDER_PUBLISHED = "tender.published"
TENDER_AMENDED = "tender.amended"
TENDER_CLOSED = "tender.closed"
TENDER_CANCELLED = "tender.cancelled"
TENDER_AWARDED = "tender.awarded"


class NoticeType(StrEnum):
    """UNGM notice types, as labelled on the UN Global Marketplace."""

    REQUEST_FOR_EOI = "request_for_eoi"
    REQUEST_FOR_INFORMATION = "request_for_information"
    REQUEST_FOR_PREQUALIFICATION = "request_for_prequalification"
    INVITATION_TO_BID = "invitation_to_bid"
    REQUEST_FOR_PROPOSAL = "request_for_proposal"
    REQUEST_FOR_QUOTATION = "request_for_quotation"
    CALL_FOR_INDIVIDUAL_CONSULTANTS = "call_for_individual_consultants"
    CALL_FOR_IMPLEMENTING_PARTNERS = "call_for_implementing_partners"
    GRANT_SUPPORT_CALL_FOR_PROPOSAL = "grant_support_call_for_proposal"
    PRE_BID_NOTICE = "pre_bid_notice"


# As UNGM labels them; the notify templates translate these.
NOTICE_TYPE_LABELS: dict[NoticeType, str] = {
    NoticeType.REQUEST_FOR_EOI: "Request for expression of interest",
    NoticeType.REQUEST_FOR_INFORMATION: "Request for information",
    NoticeType.REQUEST_FOR_PREQUALIFICATION: "Request for pre-qualification",
    NoticeType.INVITATION_TO_BID: "Invitation to bid",
    NoticeType.REQUEST_FOR_PROPOSAL: "Request for proposal",
    NoticeType.REQUEST_FOR_QUOTATION: "Request for quotation",
    NoticeType.CALL_FOR_INDIVIDUAL_CONSULTANTS: "Call for individual consultants",
    NoticeType.CALL_FOR_IMPLEMENTING_PARTNERS: "Call for implementing partners",
    NoticeType.GRANT_SUPPORT_CALL_FOR_PROPOSAL: "Grant support-call for proposal",
    NoticeType.PRE_BID_NOTICE: "Pre-bid notice",
}


class TenderStatus(StrEnum):
    PUBLISHED = "published"
    AMENDED = "amended"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    AWARDED = "awarded"


class Document(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    title: str = Field(min_length=1, max_length=500)
    url: AnyHttpUrl


class Contact(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class Award(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    supplier_name: str = Field(min_length=1, max_length=300)
    supplier_country: str = Field(description="ISO 3166-1 alpha-3")
    amount: Decimal = Field(ge=0, max_digits=20, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    date: date


class Classification(BaseModel):
    """One item classification as the source gave it, in any scheme, kept for display and
    keywords: ("UNSPSC", "42131606", ...), ("CPV", "33141100", ...), ("CPVS", "TA10", ...)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    scheme: str = Field(min_length=1, max_length=40, description="As the source names it")
    code: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)


class TenderSnapshot(BaseModel):
    """Everything a downstream service needs to match and describe one tender revision."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tender_id: str
    revision: int = Field(ge=1)
    status: TenderStatus = TenderStatus.PUBLISHED
    agency: str
    reference: str
    title: str
    description: str
    language: str
    notice_type: NoticeType
    unspsc_codes: tuple[UnspscCode, ...]
    cpv_codes: tuple[CpvCode, ...] = Field(
        default=(), description="CPV codes, 8 digits without the check digit"
    )
    classifications: tuple[Classification, ...] = Field(
        default=(), description="Every item classification the source gave, in any scheme"
    )
    beneficiary_countries: tuple[str, ...] = Field(
        description="ISO 3166-1 alpha-3 codes; empty means multiple or unspecified destinations"
    )
    deadline: AwareDatetime = Field(description="UTC")
    deadline_utc_offset_minutes: int = Field(description="The agency's offset, for display")
    published_at: datetime
    documents: tuple[Document, ...] = ()
    contacts: tuple[Contact, ...] = ()
    url: AnyHttpUrl | None = None
    ocid: str | None = Field(default=None, description="Open Contracting id, when imported")
    cancellation_reason: str | None = None
    award: Award | None = None


class FieldChange(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    field: str
    before: Any
    after: Any


class TenderEvent(BaseModel):
    """What every tender event carries: the tender as it stands after the change."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tender: TenderSnapshot


class TenderPublished(TenderEvent):
    pass


class TenderAmended(TenderEvent):
    reason: str
    changes: tuple[FieldChange, ...]


class TenderClosed(TenderEvent):
    closed_at: datetime


class TenderCancelled(TenderEvent):
    reason: str


class TenderAwarded(TenderEvent):
    award: Award


TenderEventData = TenderPublished | TenderAmended | TenderClosed | TenderCancelled | TenderAwarded

EVENT_MODELS: dict[str, type[TenderEvent]] = {
    TENDER_PUBLISHED: TenderPublished,
    TENDER_AMENDED: TenderAmended,
    TENDER_CLOSED: TenderClosed,
    TENDER_CANCELLED: TenderCancelled,
    TENDER_AWARDED: TenderAwarded,
}
