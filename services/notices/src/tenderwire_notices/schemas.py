"""What agencies send and receive over HTTP."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from tenderwire_shared.countries import CountryCode
from tenderwire_shared.events.tenders import NoticeType
from tenderwire_shared.unspsc import UnspscCode


class NoticeDraft(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    agency: str = Field(min_length=1, max_length=100, examples=["UNDP"])
    reference: str = Field(min_length=1, max_length=200, examples=["UNDP-SEN-00123"])
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20_000)
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    notice_type: NoticeType
    unspsc_codes: list[UnspscCode] = Field(min_length=1, max_length=200)
    beneficiary_countries: list[CountryCode] = Field(
        default_factory=list,
        max_length=250,
        description="ISO 3166 alpha-2, alpha-3 or English names; empty for multiple destinations",
    )
    deadline: AwareDatetime = Field(
        description="With its UTC offset, e.g. 2026-12-20T14:00:00+01:00"
    )

    @field_validator("unspsc_codes", "beneficiary_countries")
    @classmethod
    def _dedupe(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))


class NoticeView(BaseModel):
    id: str
    agency: str
    reference: str
    title: str
    description: str
    language: str
    notice_type: NoticeType
    unspsc_codes: list[str]
    beneficiary_countries: list[str]
    deadline: datetime
    deadline_local: datetime
    status: str
    revision: int
    published_at: datetime
    url: str
