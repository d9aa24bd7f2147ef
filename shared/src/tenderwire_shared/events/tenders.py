"""Payloads of events on the tenders topic, written only by the notices service."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field

from tenderwire_shared.unspsc import UnspscCode

TENDER_PUBLISHED = "tender.published"


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


class TenderSnapshot(BaseModel):
    """Everything a downstream service needs to match and describe one tender revision."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    tender_id: str
    revision: int = Field(ge=1)
    agency: str
    reference: str
    title: str
    description: str
    language: str
    notice_type: NoticeType
    unspsc_codes: tuple[UnspscCode, ...]
    beneficiary_countries: tuple[str, ...] = Field(
        description="ISO 3166-1 alpha-3 codes; empty means multiple or unspecified destinations"
    )
    deadline: AwareDatetime = Field(description="UTC")
    deadline_utc_offset_minutes: int = Field(description="The agency's offset, for display")
    published_at: datetime
    url: AnyHttpUrl | None = None


class TenderPublished(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    tender: TenderSnapshot
