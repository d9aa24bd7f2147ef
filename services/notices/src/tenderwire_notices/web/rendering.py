"""A tender as its public page shows it, in the reader's language and time zone.

The words come from the gettext catalogs in `tenderwire_notices/locale/` (`tw catalogs
update`), dates, country and time-zone names from CLDR through Babel
(`tenderwire_shared.i18n`). The notice types and field labels are worded as notify's alerts
word them, so a supplier reads the same term in the e-mail and on the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, available_timezones

import pycountry
from babel import Locale
from babel.core import get_global
from babel.dates import format_date, format_time, get_timezone_location, get_timezone_name
from babel.lists import format_list
from babel.numbers import format_currency

from tenderwire_notices.schemas import Revision
from tenderwire_shared.events.tenders import (
    TENDER_AMENDED,
    TENDER_AWARDED,
    TENDER_CANCELLED,
    TENDER_CLOSED,
    TENDER_PUBLISHED,
    NoticeType,
    TenderSnapshot,
    TenderStatus,
)
from tenderwire_shared.i18n import NP_, Gettext, Messages, Templates, locale
from tenderwire_shared.i18n.languages import LANGUAGES, display_name

MESSAGES = Messages("tenderwire_notices")
TEMPLATES = Templates("tenderwire_notices", MESSAGES)

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

# The tender fields an amendment can change (tenderwire_notices.domain.AMENDABLE).
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "title": NP_("tender field", "Title"),
    "description": NP_("tender field", "Description"),
    "notice_type": NP_("tender field", "Type"),
    "unspsc_codes": NP_("tender field", "UNSPSC codes"),
    "cpv_codes": NP_("tender field", "CPV codes"),
    "classifications": NP_("tender field", "Classifications"),
    "beneficiary_countries": NP_("tender field", "Beneficiary countries"),
    "deadline": NP_("tender field", "Deadline"),
    "documents": NP_("tender field", "Documents"),
    "contacts": NP_("tender field", "Contacts"),
}

STATUS_LABELS: dict[TenderStatus, tuple[str, str]] = {
    TenderStatus.PUBLISHED: NP_("tender status", "Open"),
    TenderStatus.AMENDED: NP_("tender status", "Open (amended)"),
    TenderStatus.CLOSED: NP_("tender status", "Closed"),
    TenderStatus.CANCELLED: NP_("tender status", "Cancelled"),
    TenderStatus.AWARDED: NP_("tender status", "Awarded"),
}

EVENT_LABELS: dict[str, tuple[str, str]] = {
    TENDER_PUBLISHED: NP_("revision", "Published"),
    TENDER_AMENDED: NP_("revision", "Amended"),
    TENDER_CLOSED: NP_("revision", "Closed"),
    TENDER_CANCELLED: NP_("revision", "Cancelled"),
    TENDER_AWARDED: NP_("revision", "Awarded"),
}

OPEN = frozenset({TenderStatus.PUBLISHED, TenderStatus.AMENDED})

# The zones the page offers; any other valid IANA zone still works through `?tz=`. Chosen for
# where the suppliers and the agencies are: Africa, the Arab States, Asia and the Pacific,
# Latin America, Central Asia, and the agencies' headquarters.
COMMON_ZONES = (
    "UTC",
    "Africa/Abidjan",
    "Africa/Accra",
    "Africa/Addis_Ababa",
    "Africa/Cairo",
    "Africa/Dakar",
    "Africa/Johannesburg",
    "Africa/Kinshasa",
    "Africa/Lagos",
    "Africa/Luanda",
    "Africa/Maputo",
    "Africa/Nairobi",
    "America/Bogota",
    "America/La_Paz",
    "America/Lima",
    "America/Mexico_City",
    "America/New_York",
    "America/Port-au-Prince",
    "America/Sao_Paulo",
    "Asia/Amman",
    "Asia/Bangkok",
    "Asia/Beirut",
    "Asia/Dhaka",
    "Asia/Dili",
    "Asia/Jakarta",
    "Asia/Kabul",
    "Asia/Karachi",
    "Asia/Kathmandu",
    "Asia/Kolkata",
    "Asia/Manila",
    "Asia/Shanghai",
    "Asia/Tashkent",
    "Asia/Yangon",
    "Europe/Copenhagen",
    "Europe/Rome",
    "Europe/Zurich",
    "Pacific/Fiji",
)

# A changed value longer than this is cut in the history: the full text is the page's own.
_LONG_VALUE = 160
# Unicode's explicit embeddings, overrides and isolates: one left open in a title reverses
# the rest of its line. The templates isolate each field themselves (<bdi>).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CPV_DIGITS = re.compile(r"^(\d{8})")


def shown_text(text: str) -> str:
    return _BIDI_CONTROLS.sub("", text)


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def reader_zone(name: str | None) -> str:
    """`name` when it is an IANA zone this machine knows, else UTC: a link's bad `tz` is
    ignored, never refused."""
    if name and len(name) <= 64 and name in _known_zones():
        return name
    return "UTC"


@dataclass(frozen=True)
class CodeLine:
    scheme: str
    code: str
    description: str


@dataclass(frozen=True)
class ChangeLine:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class RevisionLine:
    revision: int
    label: str
    when: str
    reason: str
    changes: list[ChangeLine]


@dataclass(frozen=True)
class ZoneOption:
    name: str
    label: str


@dataclass(frozen=True)
class AwardLine:
    supplier: str
    country: str
    amount: str
    date: str


def _translated(words: Gettext, label: tuple[str, str]) -> str:
    return words.pgettext(*label)


def country_name(code: str, cldr: Locale) -> str:
    country = pycountry.countries.get(alpha_3=code) or pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name: str = cldr.territories.get(country.alpha_2, country.name)
    return name


def when(moment: datetime, zone: tzinfo, cldr: Locale) -> str:
    """CLDR's full date and short time joined as the locale joins them ("Friday, January
    15, 2027, 4:00 PM"), without the zone's name: the page says whose time it is."""
    glue = str(cldr.datetime_formats.get("full", "{1} {0}")).replace("'", "")
    return glue.format(
        format_time(moment, "short", tzinfo=zone, locale=cldr),
        format_date(moment.astimezone(zone), "full", locale=cldr),
    )


def _offset_minutes(moment: datetime, zone: tzinfo) -> int:
    offset = moment.astimezone(zone).utcoffset() or timedelta()
    return int(offset.total_seconds() // 60)


def utc_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def codes(tender: TenderSnapshot) -> list[CodeLine]:
    """UNSPSC and CPV codes, each with the description an item classification gives it, then
    the classifications in other schemes (CPVS, ...) as the source gave them."""
    described: dict[tuple[str, str], str] = {}
    others: list[CodeLine] = []
    for item in tender.classifications:
        scheme = item.scheme.strip().upper()
        code = item.code.strip()
        if scheme == "CPV" and (digits := _CPV_DIGITS.match(code)):
            code = digits.group(1)
        if scheme in ("UNSPSC", "CPV"):
            described.setdefault((scheme, code), shown_text(item.description or ""))
        else:
            others.append(
                CodeLine(
                    shown_text(item.scheme),
                    shown_text(item.code),
                    shown_text(item.description or ""),
                )
            )
    lines = [CodeLine("UNSPSC", c, described.get(("UNSPSC", c), "")) for c in tender.unspsc_codes]
    lines += [CodeLine("CPV", c, described.get(("CPV", c), "")) for c in tender.cpv_codes]
    return lines + others


class _Describer:
    """A changed value as the reader should read it: dates in its zone, names in its
    language; anything not in its field's shape shown as it came."""

    def __init__(self, words: Gettext, cldr: Locale, zone: tzinfo) -> None:
        self.words = words
        self.cldr = cldr
        self.zone = zone

    def __call__(self, field: str, value: Any) -> str:
        if value is None or value in ([], ""):
            return "-"
        describers = {
            "deadline": self._deadline,
            "beneficiary_countries": self._countries,
            "notice_type": self._notice_type,
            "documents": self._named,
            "contacts": self._named,
            "classifications": self._classifications,
        }
        try:
            text = describers.get(field, self._plain)(value)
        except (TypeError, ValueError, AttributeError, KeyError):
            text = self._plain(value)
        text = shown_text(text)
        return text if len(text) <= _LONG_VALUE else text[: _LONG_VALUE - 1] + "…"

    def _deadline(self, value: Any) -> str:
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("a deadline without its offset")
        return when(moment, self.zone, self.cldr)

    def _countries(self, value: Any) -> str:
        return format_list([country_name(str(c), self.cldr) for c in value], locale=self.cldr)

    def _notice_type(self, value: Any) -> str:
        return _translated(self.words, NOTICE_TYPES[NoticeType(str(value))])

    def _named(self, value: Any) -> str:
        names = [
            str(item.get("title") or item.get("name") or item)
            if isinstance(item, dict)
            else str(item)
            for item in value
        ]
        return format_list(names, locale=self.cldr)

    def _classifications(self, value: Any) -> str:
        return format_list(
            [
                " ".join(str(c.get(k) or "") for k in ("scheme", "code", "description")).strip()
                for c in value
            ],
            locale=self.cldr,
        )

    def _plain(self, value: Any) -> str:
        if isinstance(value, list):
            return format_list([str(v) for v in value], locale=self.cldr)
        return str(value)


def history(
    revisions: list[Revision], words: Gettext, cldr: Locale, zone: tzinfo
) -> list[RevisionLine]:
    """Newest first: what a returning reader wants to see is what changed last."""
    describe = _Describer(words, cldr, zone)
    lines = []
    for revision in revisions:
        label = EVENT_LABELS.get(revision.event_type)
        lines.append(
            RevisionLine(
                revision=revision.revision,
                label=_translated(words, label) if label else revision.event_type,
                when=when(revision.occurred_at, zone, cldr),
                reason=shown_text(revision.reason or ""),
                changes=[
                    ChangeLine(
                        label=_translated(words, FIELD_LABELS[c.field])
                        if c.field in FIELD_LABELS
                        else c.field,
                        before=describe(c.field, c.before),
                        after=describe(c.field, c.after),
                    )
                    for c in revision.changes
                ],
            )
        )
    return list(reversed(lines))


def zone_label(name: str, cldr: Locale) -> str:
    """A zone as the reader's language names its place: the country, and the zone's city
    where the country has several zones, in CLDR's pattern for the two ("Senegal",
    "Brazil (Sao Paulo)", "巴西（圣保罗）")."""
    if name == "UTC":
        return str(get_timezone_name(datetime.now(UTC), width="long", locale=cldr))
    city = str(get_timezone_location(ZoneInfo(name), locale=cldr, return_city=True))
    territory: str | None = get_global("zone_territories").get(name)
    country = cldr.territories.get(territory) if territory else None
    if territory is None or not country:
        return city
    if len(get_global("territory_zones").get(territory, ())) <= 1:
        return str(country)
    return str(cldr.zone_formats["fallback"]) % {"0": city, "1": country}


def zone_options(selected: str, cldr: Locale) -> list[ZoneOption]:
    names = list(COMMON_ZONES)
    if selected not in names:
        names.insert(1, selected)
    return [ZoneOption(name, zone_label(name, cldr)) for name in names]


def page_query(language: str, zone: str) -> str:
    return urlencode({"lang": language, "tz": zone})


def notice_context(
    tender: TenderSnapshot,
    revisions: list[Revision],
    *,
    agency_name: str | None,
    language: str,
    zone_name: str,
    portal_base_url: str,
) -> dict[str, Any]:
    """Everything notice.html shows, in the reader's language and zone."""
    cldr = locale(language)
    words = MESSAGES(language)
    zone = ZoneInfo(zone_name)
    agency_zone = timezone(timedelta(minutes=tender.deadline_utc_offset_minutes))
    award = None
    if tender.award is not None:
        award = AwardLine(
            supplier=shown_text(tender.award.supplier_name),
            country=country_name(tender.award.supplier_country, cldr),
            amount=format_currency(tender.award.amount, tender.award.currency, locale=cldr),
            date=format_date(tender.award.date, "long", locale=cldr),
        )
    amended_on = next(
        (r.occurred_at for r in reversed(revisions) if r.event_type == TENDER_AMENDED), None
    )
    query = page_query(language, zone_name)
    return {
        "tender": tender,
        "title": shown_text(tender.title),
        "description": shown_text(tender.description),
        "reference": shown_text(tender.reference),
        "agency": tender.agency,
        "agency_name": shown_text(agency_name or ""),
        "notice_type": _translated(words, NOTICE_TYPES[tender.notice_type]),
        "status": tender.status.value,
        "status_label": _translated(words, STATUS_LABELS[tender.status]),
        "is_open": tender.status in OPEN,
        "cancellation_reason": shown_text(tender.cancellation_reason or ""),
        "amended_on": when(amended_on, zone, cldr) if amended_on else "",
        "deadline_reader": when(tender.deadline, zone, cldr),
        "reader_zone": zone_label(zone_name, cldr),
        "reader_offset": utc_offset(_offset_minutes(tender.deadline, zone)),
        "deadline_agency": when(tender.deadline, agency_zone, cldr),
        "agency_offset": utc_offset(tender.deadline_utc_offset_minutes),
        "published_on": format_date(tender.published_at.astimezone(zone), "long", locale=cldr),
        "countries": [country_name(c, cldr) for c in tender.beneficiary_countries],
        "codes": codes(tender),
        "documents": [
            (shown_text(d.title), str(d.url))
            for d in tender.documents
            if str(d.url).startswith(("https://", "http://"))
        ],
        "contacts": [(shown_text(c.name), c.email or "", c.phone or "") for c in tender.contacts],
        "award": award,
        "history": history(revisions, words, cldr, zone),
        "zones": zone_options(zone_name, cldr),
        "zone": zone_name,
        "languages": [(code, display_name(code)) for code in LANGUAGES],
        "query": query,
        "ics_url": f"/notices/{tender.tender_id}.ics",
        # The reader's language goes along, so the portal can answer in it from the start.
        "follow_url": f"{portal_base_url.rstrip('/')}/follow/{tender.tender_id}?"
        + urlencode({"lang": language}),
    }


def render_notice(language: str, **context: Any) -> str:
    return TEMPLATES.render("pages/notice.html", language, **context)


def render_message_page(name: str, language: str, **context: Any) -> str:
    return TEMPLATES.render(f"pages/{name}.html", language, **context)
