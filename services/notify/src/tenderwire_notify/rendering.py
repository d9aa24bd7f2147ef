"""Turns a match into the subject, text and HTML of an alert, in the supplier's language.

One template set (`templates/email/`) for every language; the words come from the gettext
catalogs in `locale/` (`tw catalogs update` extracts and compiles them), dates, numbers,
amounts, country and time-zone names from CLDR through Babel, and Arabic reads right to left
with codes, references, amounts and links kept left to right (`tenderwire_shared.i18n`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, get_timezone_name
from babel.lists import format_list
from babel.numbers import format_currency

from tenderwire_shared.events.accounts import AccountMessage, AccountPurpose
from tenderwire_shared.events.matches import MatchCreated, MatchKind
from tenderwire_shared.events.tenders import Award, NoticeType, TenderSnapshot
from tenderwire_shared.i18n import (
    LANGUAGES,
    NP_,
    Gettext,
    Messages,
    Templates,
    language_or_fallback,
    locale,
)

__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "RenderedEmail",
    "notice_link",
    "render",
    "render_account_email",
    "render_account_sms",
    "render_digest",
]

MESSAGES = Messages("tenderwire_notify")
TEMPLATES = Templates("tenderwire_notify", MESSAGES)

# English as UNGM writes it (tenderwire_shared.events.tenders.NOTICE_TYPE_LABELS; a test
# keeps the two equal), translated through the catalogs.
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
    "beneficiary_countries": NP_("tender field", "Beneficiary countries"),
    "deadline": NP_("tender field", "Deadline"),
    "documents": NP_("tender field", "Documents"),
    "contacts": NP_("tender field", "Contacts"),
    "cpv_codes": NP_("tender field", "CPV codes"),
    "classifications": NP_("tender field", "Classifications"),
}

# What the digest says of each alert it lists.
KIND_LABELS: dict[MatchKind, tuple[str, str]] = {
    MatchKind.NEW: NP_("alert kind", "New"),
    MatchKind.AMENDED: NP_("alert kind", "Amended"),
    MatchKind.CANCELLED: NP_("alert kind", "Cancelled"),
}

TEMPLATE_NAMES = {
    MatchKind.NEW: "email/new_tender",
    MatchKind.AMENDED: "email/amended_tender",
    MatchKind.CANCELLED: "email/cancelled_tender",
}

# Enough to tell a supplier whether to read on, short enough for a phone's first screen.
DESCRIPTION_LIMIT = 600
_LONG_VALUE = 160
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# What a tender's words must not bring into an alert:
# - Unicode's explicit embeddings, overrides and isolates (tenderwire_shared.text): the
#   notices API refuses them, but a tender may reach notify by Kafka from elsewhere, and one
#   left open in a title or an agency reverses the rest of its line, deadline and link
#   included. The templates add their own isolates (the `ltr` filter) after this.
# - U+E000 and U+E001, the private-use characters that delimit email_messages' placeholders
#   (the notices API lets them through): a tender spelling a placeholder would have each
#   recipient's name and unsubscribe link spliced into its title or description.
_NOT_SHOWN = re.compile("[\u202a-\u202e\u2066-\u2069\ue000\ue001]")


def shown_text(text: str) -> str:
    """`text` without explicit embeddings, overrides and isolates (implicit marks stay), nor
    the placeholders' delimiters."""
    return _NOT_SHOWN.sub("", text) if _NOT_SHOWN.search(text) else text


def plain_tender(tender: TenderSnapshot) -> TenderSnapshot:
    """The tender without `_NOT_SHOWN` in the words an alert shows of it."""
    update: dict[str, Any] = {
        name: shown_text(value)
        for name in ("title", "agency", "reference", "description", "cancellation_reason")
        if isinstance(value := getattr(tender, name), str) and _NOT_SHOWN.search(value)
    }
    if tender.award is not None and _NOT_SHOWN.search(tender.award.supplier_name):
        update["award"] = tender.award.model_copy(
            update={"supplier_name": shown_text(tender.award.supplier_name)}
        )
    return tender.model_copy(update=update) if update else tender


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class ChangeLine:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class AwardLine:
    supplier: str
    amount: str


def _translated(words: Gettext, label: tuple[str, str]) -> str:
    return words.pgettext(*label)


def _country_name(alpha3: str, cldr: Locale) -> str:
    country = pycountry.countries.get(alpha_3=alpha3)
    if country is None:
        return alpha3
    name: str = cldr.territories.get(country.alpha_2, country.name)
    return name


def _is_regional_indicator(c: str) -> bool:
    return 0x1F1E6 <= ord(c) <= 0x1F1FF


def continues(text: str, i: int) -> bool:
    """Whether `text[i]` belongs with the character before it, as one thing on the screen: a
    mark after its letter; what a zero-width joiner joins; a variation selector, skin tone or
    tag after its emoji; the second regional indicator of a flag."""
    c, before = text[i], text[i - 1]
    if unicodedata.category(c).startswith("M") or "\u200d" in (c, before):
        return True
    code = ord(c)
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True
    if _is_regional_indicator(c) and _is_regional_indicator(before):
        run = 0
        while run < i and _is_regional_indicator(text[i - 1 - run]):
            run += 1
        return run % 2 == 1
    return False


def excerpt(text: str, limit: int = DESCRIPTION_LIMIT) -> tuple[str, bool]:
    """The start of a description, whitespace tidied, paragraphs kept; True when it was cut.

    A cut falls on the last space within the limit when there is one in its last fifth (so
    a word is not split), otherwise between characters (Chinese has no spaces), and ends
    with an ellipsis."""
    tidy = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text.replace("\r\n", "\n"))).strip()
    if len(tidy) <= limit:
        return tidy, False
    # Never part a letter from its accents, nor an emoji from what completes it.
    while limit > 0 and continues(tidy, limit):
        limit -= 1
    cut = tidy[:limit]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space >= limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" \n,;:-") + "…", True


class _Describer:
    """A changed value as the supplier should read it: dates in its zone, names in its
    language, amounts in its number format."""

    def __init__(self, words: Gettext, cldr: Locale, zone: ZoneInfo) -> None:
        self.words = words
        self.cldr = cldr
        self.zone = zone

    def __call__(self, field: str, value: Any) -> str:
        if value is None or value in ([], ""):
            return "-"
        describers = {
            "deadline": self._deadline,
            "beneficiary_countries": self._beneficiary_countries,
            "notice_type": self._notice_type,
            "documents": self._named_items,
            "contacts": self._named_items,
            "classifications": self._classifications,
        }
        try:
            text = describers.get(field, self._plain)(value)
        except (TypeError, ValueError, AttributeError):
            # A value not in the shape its field should have: shown as it came, rather than
            # no alert at all.
            text = self._plain(value)
        text = shown_text(text)
        if len(text) <= _LONG_VALUE:
            return text
        cut = _LONG_VALUE - 1
        while cut > 0 and continues(text, cut):
            cut -= 1
        return text[:cut] + "…"

    def _deadline(self, value: Any) -> str:
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError("a deadline without its offset")
        return when(moment, self.zone, self.cldr)

    def _beneficiary_countries(self, value: Any) -> str:
        return format_list([_country_name(str(c), self.cldr) for c in value], locale=self.cldr)

    def _notice_type(self, value: Any) -> str:
        try:
            return _translated(self.words, NOTICE_TYPES[NoticeType(str(value))])
        except ValueError:
            return str(value)

    def _classifications(self, value: Any) -> str:
        # (scheme, code, description) as the source gave them: "CPV 45233162 Road works".
        return format_list(
            [
                " ".join(str(c.get(k) or "") for k in ("scheme", "code", "description")).strip()
                for c in value
            ],
            locale=self.cldr,
        )

    def _named_items(self, value: Any) -> str:
        if not isinstance(value, list):
            return self._plain(value)
        names = [
            str(item.get("title") or item.get("name") or item)
            if isinstance(item, dict)
            else str(item)
            for item in value
        ]
        return format_list(names, locale=self.cldr) if names else "-"

    def _plain(self, value: Any) -> str:
        if isinstance(value, list):
            return format_list([str(v) for v in value], locale=self.cldr)
        return str(value)


def _amount(award: Award, cldr: Locale) -> str:
    return format_currency(award.amount, award.currency, locale=cldr)


def when(moment: datetime, zone: tzinfo, cldr: Locale) -> str:
    """A deadline as the reader writes one, day of the week included, without the zone's
    name (the templates say whose time it is): CLDR's full date and short time, joined as
    the locale joins them ("Friday, January 15, 2027, 4:00 PM", "15 января 2027 г., 16:00")."""
    glue = str(cldr.datetime_formats.get("full", "{1} {0}")).replace("'", "")
    return glue.format(
        format_time(moment, "short", tzinfo=zone, locale=cldr),
        format_date(moment.astimezone(zone), "full", locale=cldr),
    )


def short_when(moment: datetime, zone: tzinfo, cldr: Locale) -> str:
    """A date and 24-hour time in few characters: CLDR's day, short month and year for the
    locale ("Jan 15, 2027 16:00", "15 janv. 2027 16:00", "2027年1月15日 16:00")."""
    local = moment.astimezone(zone)
    return (
        f"{format_skeleton('yMMMd', local, locale=cldr)} {format_time(local, 'HH:mm', locale=cldr)}"
    )


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _list_separator(cldr: Locale) -> str:
    # CLDR's separator between list items: ", " in most languages, "、" in Chinese, "، " in
    # Arabic, taken from the middle of a three-item list.
    sample = format_list(["\ue000", "\ue001", "\ue002"], locale=cldr)
    return sample[sample.index("\ue000") + 1 : sample.index("\ue001")]


def tender_context(tender: TenderSnapshot, *, language: str, timezone_name: str) -> dict[str, Any]:
    """What every alert about this tender shows: its details in the reader's language."""
    lang = language_or_fallback(language)
    cldr = locale(lang)
    words = MESSAGES(lang)
    zone = ZoneInfo(timezone_name)
    tender = plain_tender(tender)
    agency_zone = timezone(timedelta(minutes=tender.deadline_utc_offset_minutes))
    deadline_agency = short_when(tender.deadline, agency_zone, cldr)
    description, cut = excerpt(tender.description)
    award = (
        AwardLine(supplier=tender.award.supplier_name, amount=_amount(tender.award, cldr))
        if tender.award is not None
        else None
    )
    return {
        "tender": tender,
        "notice_type": _translated(words, NOTICE_TYPES[tender.notice_type]),
        "deadline_supplier": when(tender.deadline, zone, cldr),
        "supplier_zone": get_timezone_name(
            tender.deadline.astimezone(zone), width="long", locale=cldr
        ),
        "supplier_timezone": timezone_name,
        "deadline_agency": deadline_agency,
        "agency_offset": "UTC" + _offset(tender.deadline_utc_offset_minutes),
        "countries": [_country_name(c, cldr) for c in tender.beneficiary_countries],
        "list_separator": _list_separator(cldr),
        "codes": list(tender.unspsc_codes),
        "cpv_codes": list(tender.cpv_codes),
        "url": notice_link(
            str(tender.url) if tender.url else "", language=lang, timezone_name=timezone_name
        ),
        "description": description,
        "description_cut": cut,
        "award": award,
    }


def render(
    match: MatchCreated,
    *,
    language: str,
    timezone_name: str,
    supplier: str | None = None,
    unsubscribe_url: str = "",
) -> RenderedEmail:
    """The alert for any kind of match: a new tender, an amendment or a cancellation.

    `supplier` replaces the recipient's legal name in the greeting and `unsubscribe_url` is
    the footer's link, so one rendering can serve every recipient of the same words, each
    completed later (see email_messages)."""
    lang = language_or_fallback(language)
    words = MESSAGES(lang)
    describe = _Describer(words, locale(lang), ZoneInfo(timezone_name))
    changes = [
        ChangeLine(
            label=_translated(words, FIELD_LABELS[c.field]) if c.field in FIELD_LABELS else c.field,
            before=describe(c.field, c.before),
            after=describe(c.field, c.after),
        )
        for c in match.changes
    ]
    context = {
        **tender_context(match.tender, language=lang, timezone_name=timezone_name),
        "supplier": match.recipient.legal_name if supplier is None else supplier,
        "changes": changes,
        "reason": shown_text(match.reason or "-"),
        "still_matches": match.still_matches,
        "unsubscribe_url": unsubscribe_url,
    }
    name = TEMPLATE_NAMES[match.kind]
    return RenderedEmail(
        subject=_one_line(TEMPLATES.render(f"{name}.subject.txt", lang, **context)),
        text=TEMPLATES.render(f"{name}.txt", lang, **context),
        html=TEMPLATES.render(f"{name}.html", lang, **context),
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


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
    unsubscribe_url: str = "",
) -> RenderedEmail:
    """One e-mail listing every alert since the last digest, oldest first."""
    lang = language_or_fallback(language)
    cldr = locale(lang)
    words = MESSAGES(lang)
    zone = ZoneInfo(timezone_name)
    entries = [
        DigestEntry(
            kind=_translated(words, KIND_LABELS[m.kind]),
            title=tender.title,
            agency=tender.agency,
            reference=tender.reference,
            deadline=short_when(tender.deadline, zone, cldr),
            url=notice_link(
                str(tender.url) if tender.url else "", language=lang, timezone_name=timezone_name
            ),
        )
        for m in matches
        for tender in (plain_tender(m.tender),)
    ]
    context = {
        "supplier": supplier if supplier is not None else _first_legal_name(matches),
        "entries": entries,
        "day": format_date(day, "long", locale=cldr),
        "unsubscribe_url": unsubscribe_url,
    }
    return RenderedEmail(
        subject=_one_line(TEMPLATES.render("email/digest.subject.txt", lang, **context)),
        text=TEMPLATES.render("email/digest.txt", lang, **context),
        html=TEMPLATES.render("email/digest.html", lang, **context),
    )


def _first_legal_name(matches: Sequence[MatchCreated]) -> str:
    return matches[0].recipient.legal_name if matches else ""


# --- Account messages: verification links and codes, sign-in links -------------------------

ACCOUNT_EMAILS = {
    AccountPurpose.VERIFY_EMAIL: "account/verify_email",
    AccountPurpose.SIGN_IN: "account/sign_in",
}
_MAX_LINK = 2000
_CODE = re.compile(r"^[0-9]{4,10}$")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def account_link(message: AccountMessage) -> str:
    """The message's link, refused (ValueError) unless it is a plain http(s) URL: it goes in
    an href, and a link that runs script or carries a line break must never reach a mailbox."""
    link = message.link or ""
    parts = urlsplit(link)
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or len(link) > _MAX_LINK
        or not link.isprintable()
        or any(c.isspace() for c in link)
    ):
        raise ValueError(f"the {message.purpose.value} message has no usable link")
    return link


def render_account_email(message: AccountMessage) -> RenderedEmail:
    """A verification or sign-in e-mail: the link prominent, its expiry in the supplier's
    zone, and what to do when the supplier did not ask for it. ValueError for a purpose that
    is not sent by e-mail, or a link that cannot be."""
    name = ACCOUNT_EMAILS.get(message.purpose)
    if name is None:
        raise ValueError(f"{message.purpose.value} is not sent by e-mail")
    lang = language_or_fallback(message.language)
    cldr = locale(lang)
    zone = _zone(message.timezone)
    context = {
        "supplier": shown_text(message.legal_name),
        "link": account_link(message),
        "expires": when(message.expires_at, zone, cldr),
        "zone": get_timezone_name(message.expires_at.astimezone(zone), width="long", locale=cldr),
    }
    return RenderedEmail(
        subject=_one_line(TEMPLATES.render(f"{name}.subject.txt", lang, **context)),
        text=TEMPLATES.render(f"{name}.txt", lang, **context),
        html=TEMPLATES.render(f"{name}.html", lang, **context),
    )


def render_account_sms(message: AccountMessage) -> str:
    """The text that carries a phone's verification code, with its expiry in the supplier's
    zone. ValueError for another purpose or a code that is not a few digits."""
    if message.purpose is not AccountPurpose.VERIFY_PHONE:
        raise ValueError(f"{message.purpose.value} is not sent by SMS")
    if not _CODE.match(message.code or ""):
        raise ValueError("the verify_phone message has no usable code")
    lang = language_or_fallback(message.language)
    zone = _zone(message.timezone)
    expires = short_when(message.expires_at, zone, locale(lang))
    return _one_line(
        TEMPLATES.render("account/verify_phone.sms.txt", lang, code=message.code, expires=expires)
    )


# --- The notice's own page -----------------------------------------------------------------


def notice_link(url: str, *, language: str, timezone_name: str) -> str:
    """The tender's public page, opened in the supplier's language and time zone: `lang` and
    `tz` added to (or replacing those in) its query, URL-encoded."""
    if not url:
        return ""
    parts = urlsplit(url)
    ours = urlencode([("lang", language), ("tz", timezone_name)])
    kept = parse_qsl(parts.query, keep_blank_values=True)
    if any(name in ("lang", "tz") for name, _ in kept):
        query = urlencode([(k, v) for k, v in kept if k not in ("lang", "tz")])
    else:
        query = parts.query  # as the notices service wrote it, not re-encoded
    query = f"{query}&{ours}" if query else ours
    return urlunsplit(parts._replace(query=query))
