"""Turns a match into the subject, text and HTML of an alert, in the supplier's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pycountry
from babel import Locale
from babel.dates import format_date, format_datetime
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tenderwire_shared.events.matches import MatchCreated, MatchKind
from tenderwire_shared.events.tenders import NOTICE_TYPE_LABELS as UNGM_LABELS
from tenderwire_shared.events.tenders import NoticeType

LANGUAGES = ("en", "fr", "es")
FALLBACK_LANGUAGE = "en"

NOTICE_TYPE_LABELS: dict[str, dict[NoticeType, str]] = {
    "en": UNGM_LABELS,
    "fr": {
        NoticeType.REQUEST_FOR_EOI: "Appel à manifestation d'intérêt",
        NoticeType.REQUEST_FOR_INFORMATION: "Demande d'informations",
        NoticeType.REQUEST_FOR_PREQUALIFICATION: "Demande de préqualification",
        NoticeType.INVITATION_TO_BID: "Appel d'offres",
        NoticeType.REQUEST_FOR_PROPOSAL: "Demande de propositions",
        NoticeType.REQUEST_FOR_QUOTATION: "Demande de cotation",
        NoticeType.CALL_FOR_INDIVIDUAL_CONSULTANTS: "Appel à consultants individuels",
        NoticeType.CALL_FOR_IMPLEMENTING_PARTNERS: "Appel à partenaires de mise en œuvre",
        NoticeType.GRANT_SUPPORT_CALL_FOR_PROPOSAL: "Appel à propositions (subvention)",
        NoticeType.PRE_BID_NOTICE: "Avis de pré-soumission",
    },
    "es": {
        NoticeType.REQUEST_FOR_EOI: "Solicitud de expresión de interés",
        NoticeType.REQUEST_FOR_INFORMATION: "Solicitud de información",
        NoticeType.REQUEST_FOR_PREQUALIFICATION: "Solicitud de precalificación",
        NoticeType.INVITATION_TO_BID: "Invitación a licitar",
        NoticeType.REQUEST_FOR_PROPOSAL: "Solicitud de propuestas",
        NoticeType.REQUEST_FOR_QUOTATION: "Solicitud de cotización",
        NoticeType.CALL_FOR_INDIVIDUAL_CONSULTANTS: "Convocatoria de consultores individuales",
        NoticeType.CALL_FOR_IMPLEMENTING_PARTNERS: "Convocatoria de socios implementadores",
        NoticeType.GRANT_SUPPORT_CALL_FOR_PROPOSAL: "Convocatoria de propuestas (subvención)",
        NoticeType.PRE_BID_NOTICE: "Aviso previo a la licitación",
    },
}

_env = Environment(
    loader=PackageLoader("tenderwire_notify", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _country_name(alpha3: str, locale: Locale) -> str:
    country = pycountry.countries.get(alpha_3=alpha3)
    if country is None:
        return alpha3
    name: str = locale.territories.get(country.alpha_2, country.name)
    return name


FIELD_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Title",
        "description": "Description",
        "notice_type": "Type",
        "unspsc_codes": "UNSPSC codes",
        "beneficiary_countries": "Beneficiary countries",
        "deadline": "Deadline",
        "documents": "Documents",
        "contacts": "Contacts",
    },
    "fr": {
        "title": "Titre",
        "description": "Description",
        "notice_type": "Type",
        "unspsc_codes": "Codes UNSPSC",
        "beneficiary_countries": "Pays bénéficiaires",
        "deadline": "Date limite",
        "documents": "Documents",
        "contacts": "Contacts",
    },
    "es": {
        "title": "Título",
        "description": "Descripción",
        "notice_type": "Tipo",
        "unspsc_codes": "Códigos UNSPSC",
        "beneficiary_countries": "Países beneficiarios",
        "deadline": "Fecha límite",
        "documents": "Documentos",
        "contacts": "Contactos",
    },
}

TEMPLATES = {
    MatchKind.NEW: "new_tender",
    MatchKind.AMENDED: "amended_tender",
    MatchKind.CANCELLED: "cancelled_tender",
}

_LONG_VALUE = 160


@dataclass(frozen=True)
class ChangeLine:
    label: str
    before: str
    after: str


def _deadline(value: Any, lang: str, locale: Locale, zone: ZoneInfo) -> str:
    return format_datetime(datetime.fromisoformat(str(value)), "full", tzinfo=zone, locale=locale)


def _countries(value: Any, lang: str, locale: Locale, zone: ZoneInfo) -> str:
    return ", ".join(_country_name(c, locale) for c in value)


def _notice_type(value: Any, lang: str, locale: Locale, zone: ZoneInfo) -> str:
    known = {t.value: label for t, label in NOTICE_TYPE_LABELS[lang].items()}
    return known.get(str(value), str(value))


def _named_items(value: Any, lang: str, locale: Locale, zone: ZoneInfo) -> str:
    return ", ".join(str(item.get("title") or item.get("name") or item) for item in value)


def _plain(value: Any, lang: str, locale: Locale, zone: ZoneInfo) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


_DESCRIBE = {
    "deadline": _deadline,
    "beneficiary_countries": _countries,
    "notice_type": _notice_type,
    "documents": _named_items,
    "contacts": _named_items,
}


def _describe_value(field: str, value: Any, lang: str, locale: Locale, zone: ZoneInfo) -> str:
    """A changed value as the supplier should read it: dates in its zone, names in its language."""
    if value is None or value in ([], ""):
        return "-"
    text = _DESCRIBE.get(field, _plain)(value, lang, locale, zone)
    return text if len(text) <= _LONG_VALUE else text[: _LONG_VALUE - 1] + "…"


def render(
    match: MatchCreated, *, language: str, timezone_name: str, supplier: str | None = None
) -> RenderedEmail:
    """The alert for any kind of match: a new tender, an amendment or a cancellation.

    `supplier` replaces the recipient's legal name in the greeting, so one rendering can serve
    every recipient of the same words (see email_messages)."""
    lang = language if language in LANGUAGES else FALLBACK_LANGUAGE
    locale = Locale.parse(lang)
    zone = ZoneInfo(timezone_name)
    tender = match.tender
    agency_zone = timezone(timedelta(minutes=tender.deadline_utc_offset_minutes))
    deadline_supplier = format_datetime(tender.deadline, "full", tzinfo=zone, locale=locale)
    deadline_agency = (
        format_datetime(tender.deadline.astimezone(agency_zone), "d MMM y HH:mm", locale=locale)
        + " (UTC"
        + _offset(tender.deadline_utc_offset_minutes)
        + ")"
    )
    changes = [
        ChangeLine(
            label=FIELD_LABELS[lang].get(c.field, c.field),
            before=_describe_value(c.field, c.before, lang, locale, zone),
            after=_describe_value(c.field, c.after, lang, locale, zone),
        )
        for c in match.changes
    ]
    context = {
        "supplier": match.recipient.legal_name if supplier is None else supplier,
        "tender": tender,
        "notice_type": NOTICE_TYPE_LABELS[lang][tender.notice_type],
        "deadline_supplier": deadline_supplier,
        "supplier_timezone": timezone_name,
        "deadline_agency": deadline_agency,
        "countries": [_country_name(c, locale) for c in tender.beneficiary_countries],
        "codes": list(tender.unspsc_codes),
        "url": str(tender.url) if tender.url else "",
        "changes": changes,
        "reason": match.reason or "-",
        "still_matches": match.still_matches,
    }
    name = TEMPLATES[match.kind]
    return RenderedEmail(
        subject=_env.get_template(f"{lang}/{name}.subject.j2").render(context).strip(),
        text=_env.get_template(f"{lang}/{name}.txt.j2").render(context),
        html=_env.get_template(f"{lang}/{name}.html").render(context),
    )


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


@dataclass(frozen=True)
class DigestEntry:
    kind: str
    title: str
    agency: str
    reference: str
    deadline: str
    url: str


def render_digest(
    matches: Sequence[MatchCreated],
    *,
    language: str,
    timezone_name: str,
    day: date,
    supplier: str | None = None,
) -> RenderedEmail:
    """One e-mail listing every alert since the last digest, oldest first."""
    lang = language if language in LANGUAGES else FALLBACK_LANGUAGE
    locale = Locale.parse(lang)
    zone = ZoneInfo(timezone_name)
    entries = [
        DigestEntry(
            kind=m.kind.value,
            title=m.tender.title,
            agency=m.tender.agency,
            reference=m.tender.reference,
            deadline=format_datetime(
                m.tender.deadline, "d MMM y HH:mm", tzinfo=zone, locale=locale
            ),
            url=str(m.tender.url) if m.tender.url else "",
        )
        for m in matches
    ]
    context = {
        "supplier": supplier if supplier is not None else _first_legal_name(matches),
        "entries": entries,
        "day": format_date(day, "long", locale=locale),
    }
    return RenderedEmail(
        subject=_env.get_template(f"{lang}/digest.subject.j2").render(context).strip(),
        text=_env.get_template(f"{lang}/digest.txt.j2").render(context),
        html=_env.get_template(f"{lang}/digest.html").render(context),
    )


def _first_legal_name(matches: Sequence[MatchCreated]) -> str:
    return matches[0].recipient.legal_name if matches else ""
