"""What suppliers send and receive over HTTP."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from tenderwire_shared.countries import to_alpha3
from tenderwire_shared.cpv import CpvCode
from tenderwire_shared.events.matches import Delivery
from tenderwire_shared.events.tenders import NoticeType
from tenderwire_shared.i18n import Language
from tenderwire_shared.text import PlainLine, check_line
from tenderwire_shared.unspsc import UnspscCode

# Bounded before it is looked up, so a megabyte "country" is refused without being echoed back.
CountryCode = Annotated[str, StringConstraints(max_length=60), AfterValidator(to_alpha3)]

_WALL_CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


def _wall_clock(value: Any) -> Any:
    # Quiet hours follow the supplier's own time zone, so a UTC offset (or seconds) here would
    # be silently dropped or meaningless; times read back from the database pass as they are.
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and re.fullmatch(_WALL_CLOCK, value):
        return time.fromisoformat(value)
    raise ValueError(
        "must be a local time as HH:MM (e.g. 22:00), without seconds or UTC offset: quiet"
        " hours follow the supplier's time zone"
    )


WallClock = Annotated[
    time,
    BeforeValidator(_wall_clock),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": _WALL_CLOCK, "examples": ["22:00"]}),
]


class QuietWindow(BaseModel):
    """From `start` to `end`, the supplier's local time; may run over midnight (22:00 to 07:00)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: WallClock
    end: WallClock


_AGENCY = re.compile(r"[A-Z0-9-]{2,20}")


def _agency_code(value: str) -> str:
    # The filter compares codes exactly, so anything that is no agency code would never match.
    code = value.strip().upper()
    if not _AGENCY.fullmatch(code):
        raise ValueError(
            "must be an agency code as notices publish them: 2 to 20 capital letters, digits"
            " or '-', e.g. UNDP or WFP-SN"
        )
    return code


AgencyCode = Annotated[str, StringConstraints(max_length=40), AfterValidator(_agency_code)]
# IANA names are at most about 30 characters; E.164 is 15 digits, written with spaces or dashes.
TimeZoneName = Annotated[str, StringConstraints(max_length=64)]
PhoneNumber = Annotated[str, StringConstraints(max_length=40)]


def _keyword(value: str) -> str:
    # Length first, and without the value: a megabyte keyword is not worth scanning or echoing.
    if not 2 <= len(value) <= 60:
        raise ValueError("keywords must be 2 to 60 characters")
    return check_line(value)


Keyword = Annotated[str, AfterValidator(_keyword)]


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone, e.g. Africa/Dakar") from exc
    return value


def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            f"{value!r} is not a phone number in international form, e.g. +221 77 123 45 67"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class _SupplierRules(BaseModel):
    """Validation shared by registration and update; fields are declared by each subclass."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator(
        "unspsc_codes",
        "cpv_codes",
        "beneficiary_countries",
        "agencies",
        "keywords",
        check_fields=False,
    )
    @classmethod
    def _unique(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _dedupe(values)

    @field_validator("timezone", check_fields=False)
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)

    @field_validator("phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else _e164(value)


def _phone_field() -> Any:
    return Field(default=None, description="Mobile for SMS, with its +country code")


def _pause_field() -> Any:
    return Field(
        default=None,
        description=(
            "No alerts before this day begins in the supplier's time zone (they are not sent"
            " later either); null resumes them"
        ),
    )


def _filter(description: str, max_length: int) -> Any:
    return Field(default=None, max_length=max_length, description=description)


MAX_LEGAL_NAME = 300


def _one_spelling(value: str) -> str:
    # A name is registered once per country (compared without case); written with doubled
    # spaces, no-break spaces or full-width letters it would be the same name registered
    # again. NFKC folds those compatibility forms, and can lengthen a name, so it is measured
    # again after.
    name = " ".join(unicodedata.normalize("NFKC", value).split())
    if len(name) > MAX_LEGAL_NAME:
        raise ValueError(f"must be at most {MAX_LEGAL_NAME} characters once normalised")
    return name


LegalName = Annotated[PlainLine, AfterValidator(_one_spelling)]


class SupplierRegistration(_SupplierRules):
    legal_name: LegalName = Field(min_length=1, max_length=MAX_LEGAL_NAME)
    country: CountryCode = Field(description="Country of registration (ISO 3166)")
    unspsc_codes: list[UnspscCode] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description=(
            "Commodity or class level (with TW_MATCHING_CODE_HIERARCHY_LEVELS=1): higher codes"
            " could never match a tender's commodity codes and are refused. UNSPSC codes, CPV"
            " codes or both: at least one code is needed"
        ),
    )
    cpv_codes: list[CpvCode] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description=(
            "CPV codes, with or without the check digit (33100000 or 33100000-1); a code covers"
            " every code under it (33100000: all of 331xxxxx)"
        ),
        examples=[["33100000"]],
    )
    email: EmailStr
    phone: PhoneNumber | None = _phone_field()
    language: Language = Field(
        default=Language.EN,
        description="What its alerts and pages are written in: the six UN languages and Portuguese",
    )
    timezone: TimeZoneName = Field(default="UTC", examples=["Africa/Dakar"])
    delivery: Delivery = Delivery.IMMEDIATE
    digest_hour: int = Field(default=8, ge=0, le=23, description="Local hour of the digest")
    quiet_hours: QuietWindow | None = None
    beneficiary_countries: list[CountryCode] | None = _filter(
        "Only tenders for these beneficiary countries", 250
    )
    agencies: list[AgencyCode] | None = _filter("Only tenders from these agencies' codes", 100)
    notice_types: list[NoticeType] | None = _filter("Only these notice types", 10)
    keywords: list[Keyword] | None = _filter("Only tenders mentioning one of these", 50)
    paused_until: date | None = _pause_field()

    @model_validator(mode="after")
    def _some_code(self) -> SupplierRegistration:
        if not self.unspsc_codes and not self.cpv_codes:
            raise ValueError("a supplier needs unspsc_codes, cpv_codes or both")
        return self


class SupplierUpdate(_SupplierRules):
    """Only the fields that change; an empty list (or null) clears a filter, null clears phone."""

    unspsc_codes: list[UnspscCode] | None = Field(default=None, min_length=1, max_length=500)
    cpv_codes: list[CpvCode] | None = Field(
        default=None,
        max_length=500,
        description="An empty list (or null) drops them, if UNSPSC codes remain",
    )
    email: EmailStr | None = None
    phone: PhoneNumber | None = _phone_field()
    language: Language | None = None
    timezone: TimeZoneName | None = None
    delivery: Delivery | None = None
    digest_hour: int | None = Field(default=None, ge=0, le=23)
    quiet_hours: QuietWindow | None = None
    beneficiary_countries: list[CountryCode] | None = _filter(
        "Only tenders for these beneficiary countries", 250
    )
    agencies: list[AgencyCode] | None = _filter("Only tenders from these agencies' codes", 100)
    notice_types: list[NoticeType] | None = _filter("Only these notice types", 10)
    keywords: list[Keyword] | None = _filter("Only tenders mentioning one of these", 50)
    paused_until: date | None = _pause_field()

    @model_validator(mode="after")
    def _required_stay(self) -> SupplierUpdate:
        return _not_cleared(self)


class SupplierView(BaseModel):
    id: str
    legal_name: str
    country: str
    economy_group: str
    least_developed: bool
    unspsc_codes: list[str]
    cpv_codes: list[str] = []
    email: str
    also_email: list[str] = Field(
        default=[],
        description="Further e-mail contacts confirmed in the portal; they get alerts too",
    )
    phone: str | None
    language: str
    timezone: str
    delivery: Delivery
    digest_hour: int
    quiet_hours: QuietWindow | None
    beneficiary_countries: list[str]
    agencies: list[str]
    notice_types: list[str]
    keywords: list[str]
    active: bool
    version: int
    email_verified: bool = Field(
        default=True, description="False until the link sent to `email` is opened: no alerts"
    )
    phone_verified: bool = Field(
        default=False, description="True once the code texted to `phone` was typed back"
    )
    paused_until: date | None = None


class RegisteredSupplier(SupplierView):
    token: str = Field(description="Shown once: the supplier's key to manage its own profile")


_REQUIRED_ON_UPDATE = ("unspsc_codes", "email", "language", "timezone", "delivery", "digest_hour")


def _not_cleared(update: SupplierUpdate) -> SupplierUpdate:
    for name in _REQUIRED_ON_UPDATE:
        if name in update.model_fields_set and getattr(update, name) is None:
            raise ValueError(f"{name} cannot be removed, only changed")
    return update
