"""Turns a match into the subject, text and HTML of an alert, in the supplier's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import pycountry
from babel import Locale
from babel.dates import format_datetime
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tenderwire_shared.events.matches import MatchCreated
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


def render_new_tender(match: MatchCreated, *, language: str, timezone_name: str) -> RenderedEmail:
    lang = language if language in LANGUAGES else FALLBACK_LANGUAGE
    locale = Locale.parse(lang)
    tender = match.tender
    agency_zone = timezone(timedelta(minutes=tender.deadline_utc_offset_minutes))
    deadline_supplier = format_datetime(
        tender.deadline, "full", tzinfo=ZoneInfo(timezone_name), locale=locale
    )
    deadline_agency = (
        format_datetime(tender.deadline.astimezone(agency_zone), "d MMM y HH:mm", locale=locale)
        + " (UTC"
        + _offset(tender.deadline_utc_offset_minutes)
        + ")"
    )
    context = {
        "supplier": match.recipient.legal_name,
        "tender": tender,
        "notice_type": NOTICE_TYPE_LABELS[lang][tender.notice_type],
        "deadline_supplier": deadline_supplier,
        "supplier_timezone": timezone_name,
        "deadline_agency": deadline_agency,
        "countries": [_country_name(c, locale) for c in tender.beneficiary_countries],
        "codes": list(tender.unspsc_codes),
        "url": str(tender.url) if tender.url else "",
    }
    return RenderedEmail(
        subject=_env.get_template(f"{lang}/new_tender.subject.j2").render(context).strip(),
        text=_env.get_template(f"{lang}/new_tender.txt.j2").render(context),
        html=_env.get_template(f"{lang}/new_tender.html").render(context),
    )


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"
