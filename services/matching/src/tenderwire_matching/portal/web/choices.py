"""What the preference forms offer, named in the reader's language by CLDR (Babel): languages,
time zones (the supplier's country's first, then one region at a time, so the page stays
small), countries, notice types, digest hours.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

import pycountry
from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location

from tenderwire_shared.events.tenders import NoticeType
from tenderwire_shared.i18n import LANGUAGES, N_, NP_, Gettext, locale

NOTICE_TYPES: dict[NoticeType, tuple[str, str]] = {
    NoticeType.REQUEST_FOR_EOI: NP_("notice type", "Request for expression of interest"),
    NoticeType.REQUEST_FOR_INFORMATION: NP_("notice type", "Request for information"),
    NoticeType.REQUEST_FOR_PREQUALIFICATION: NP_("notice type", "Request for pre-qualification"),
    NoticeType.INVITATION_TO_BID: NP_("notice type", "Invitation to bid"),
    NoticeType.REQUEST_FOR_PROPOSAL: NP_("notice type", "Request for proposal"),
    NoticeType.REQUEST_FOR_QUOTATION: NP_("notice type", "Request for quotation"),
    NoticeType.CALL_FOR_INDIVIDUAL_CONSULTANTS: NP_(
        "notice type", "Call for individual consultants"
    ),
    NoticeType.CALL_FOR_IMPLEMENTING_PARTNERS: NP_("notice type", "Call for implementing partners"),
    NoticeType.GRANT_SUPPORT_CALL_FOR_PROPOSAL: NP_(
        "notice type", "Grant support-call for proposal"
    ),
    NoticeType.PRE_BID_NOTICE: NP_("notice type", "Pre-bid notice"),
}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def notice_types(words: Gettext) -> list[Choice]:
    return [Choice(kind.value, words.pgettext(*label)) for kind, label in NOTICE_TYPES.items()]


@cache
def languages() -> list[Choice]:
    """Each language named in itself, so a reader finds its own whatever the page's."""
    return [
        Choice(code, Locale.parse(locale(code)).get_display_name(locale(code)) or code)
        for code in LANGUAGES
    ]


@cache
def available_zones() -> frozenset[str]:
    # available_timezones() walks the zone files on every call.
    return frozenset(zoneinfo.available_timezones())


@cache
def _territory_zones() -> dict[str, tuple[str, ...]]:
    zones: Mapping[str, list[str]] = get_global("territory_zones")
    available = available_zones()
    return {t: tuple(z for z in names if z in available) for t, names in zones.items()}


@cache
def canonical_zones() -> frozenset[str]:
    """The zones CLDR gives a country (no aliases such as US/Eastern), and UTC."""
    return frozenset({"UTC", *(z for names in _territory_zones().values() for z in names)})


# The first part of IANA's zone names, the regions a zone is chosen in after one's country.
REGION_NAMES = {
    "Africa": N_("Africa"),
    "America": N_("The Americas"),
    "Antarctica": N_("Antarctica"),
    "Arctic": N_("Arctic"),
    "Asia": N_("Asia"),
    "Atlantic": N_("Atlantic Ocean"),
    "Australia": N_("Australia"),
    "Europe": N_("Europe"),
    "Indian": N_("Indian Ocean"),
    "Pacific": N_("Pacific Ocean"),
}


@cache
def region_keys() -> frozenset[str]:
    return frozenset(z.split("/")[0] for z in canonical_zones() if "/" in z) & set(REGION_NAMES)


def regions(words: Gettext) -> list[Choice]:
    return [Choice(key, words.gettext(REGION_NAMES[key])) for key in sorted(region_keys())]


def country_zones(alpha3: str) -> tuple[str, ...]:
    country = pycountry.countries.get(alpha_3=alpha3)
    if country is None:
        return ()
    return _territory_zones().get(country.alpha_2, ())


@cache
def zone_label(zone: str, language: str, offset: str) -> str:
    city = get_timezone_location(zone, locale=locale(language), return_city=True)
    city = city.split("/")[-1].replace("_", " ")
    return f"{city} (UTC{offset})"


def _offset(zone: str, now: datetime) -> str:
    delta = now.astimezone(ZoneInfo(zone)).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_choices(
    country: str, region: str | None, current: str, language: str, now: datetime
) -> tuple[list[Choice], list[Choice]]:
    """(the supplier's country's zones with its current zone and UTC, the zones of `region`)."""
    first = [*country_zones(country)]
    for extra in (current, "UTC"):
        if extra not in first and extra in available_zones():
            first.append(extra)
    others = sorted(
        z for z in canonical_zones() if region and z.startswith(f"{region}/") and z not in first
    )

    def named(zones: list[str]) -> list[Choice]:
        return [Choice(z, zone_label(z, language, _offset(z, now))) for z in zones]

    return named(first), named(others)


@cache
def countries(language: str) -> list[Choice]:
    """Every ISO 3166 country as alpha-3, named by CLDR in `language`, in its order."""
    names = locale(language).territories
    found = [Choice(c.alpha_3, names.get(c.alpha_2) or c.name) for c in pycountry.countries]
    return sorted(found, key=lambda choice: choice.label.casefold())


def country_name(alpha3: str, language: str) -> str:
    country = pycountry.countries.get(alpha_3=alpha3)
    if country is None:
        return alpha3
    return str(locale(language).territories.get(country.alpha_2) or country.name)
