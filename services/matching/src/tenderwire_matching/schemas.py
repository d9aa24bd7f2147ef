"""What suppliers send and receive over HTTP."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from tenderwire_shared.countries import CountryCode
from tenderwire_shared.unspsc import UnspscCode


class Language(StrEnum):
    EN = "en"
    FR = "fr"
    ES = "es"


class SupplierRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    legal_name: str = Field(min_length=1, max_length=300)
    country: CountryCode = Field(description="Country of registration (ISO 3166)")
    unspsc_codes: list[UnspscCode] = Field(min_length=1, max_length=500)
    email: EmailStr
    language: Language = Language.EN
    timezone: str = Field(default="UTC", examples=["Africa/Dakar"])

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone") from exc
        return value

    @field_validator("unspsc_codes")
    @classmethod
    def _dedupe(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))


class SupplierView(BaseModel):
    id: str
    legal_name: str
    country: str
    economy_group: str
    least_developed: bool
    unspsc_codes: list[str]
    email: str
    language: str
    timezone: str
    active: bool


class RegisteredSupplier(SupplierView):
    token: str = Field(description="Shown once: the supplier's key to manage its own profile")
