"""The words of an SMS alert, and how long they are on the air.

Length: a message whose every character is in the GSM 03.38 alphabet goes as GSM-7 (160
septets, or 153 per part once split; the extension table's characters cost two); any other
goes as UCS-2 (70 UTF-16 units, or 67 per part). An alert is at most two parts.

The message is `<prefix> (<agency>): <title>. <deadline word> <deadline>. <link>`, or
`<prefix> (<agency>): <start of the title>... <deadline word> <deadline>. <link>`. The link
and the deadline are never cut; the title gives way.

Which alphabet, and so how much of the title survives:

- Latin-script text is folded into GSM-7, so one letter the alphabet lacks ("licitación",
  "prazo de submissão") no longer halves the room. Each character outside GSM 03.38 takes its
  closest GSM-7 form: a letter loses the accent the alphabet lacks (ó→o, á→a, ç→c, since GSM
  has only the capital Ç; é, è, ñ, ü and Ç are in the alphabet and stay), and other letters,
  punctuation and symbols take their `anyascii` transliteration (œ→oe, ł→l, «→<<,
  curly quotes→straight ones, dashes→-).
  A Spanish, French or Portuguese alert about a Latin-script tender is therefore GSM-7 (306
  septets in two parts).
- Text with a letter of another script (Arabic, Cyrillic, Chinese, ...) stays UCS-2:
  transliterating it would lose the reader. Those labels are short, the ellipsis is the
  one-unit "…", and when the agency code would leave the title fewer than
  `MIN_TITLE_CHARACTERS`, the agency is left out (the link leads to it). Only when such a title
  finds no room at all (a very long link) is it left out, and the rest folded into GSM-7.
- The link is never folded: pydantic already gives it as ASCII (punycode host, escaped path).

A title that does not fit is cut on the last word boundary when that keeps most of the room
and at least `MIN_TITLE_CHARACTERS` (otherwise, and in scripts written without spaces such
as Chinese, between characters, never between a letter and its accents), and ends in
"..." (GSM-7) or "…" (UCS-2).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from anyascii import anyascii
from babel import Locale
from babel.dates import format_datetime

from tenderwire_shared.events.matches import MatchCreated, MatchKind

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # each costs two septets: an escape, then the code
_GSM7_ALPHABET = _GSM7_BASIC | _GSM7_EXTENDED
MAX_PARTS = 2
MIN_TITLE_CHARACTERS = 20
# A cut backs off to the last space only if that keeps this share of what would fit.
_WORD_BOUNDARY_SHARE = 0.7
_TRAILING_JUNK = " \t\n\r,;:-\u2013\u2014/(["


@dataclass(frozen=True)
class _Encoding:
    single: int
    per_part: int
    ellipsis: str


_GSM7 = _Encoding(single=160, per_part=153, ellipsis="...")
_UCS2 = _Encoding(single=70, per_part=67, ellipsis="…")


@dataclass(frozen=True)
class _Labels:
    prefix: dict[MatchKind, str]
    deadline: str
    date_pattern: str = "d MMM HH:mm"


_LABELS = {
    "en": _Labels(
        {
            MatchKind.NEW: "New tender",
            MatchKind.AMENDED: "Amended",
            MatchKind.CANCELLED: "Cancelled",
        },
        "deadline",
    ),
    "fr": _Labels(
        {
            MatchKind.NEW: "Nouvel appel",
            MatchKind.AMENDED: "Modifié",
            MatchKind.CANCELLED: "Annulé",
        },
        "date limite",
    ),
    "es": _Labels(
        {
            MatchKind.NEW: "Nueva licitación",
            MatchKind.AMENDED: "Modificada",
            MatchKind.CANCELLED: "Cancelada",
        },
        "fecha límite",
    ),
    "pt": _Labels(
        {
            MatchKind.NEW: "Nova licitação",
            MatchKind.AMENDED: "Alterada",
            MatchKind.CANCELLED: "Cancelada",
        },
        "prazo",
    ),
    # UCS-2 leaves little room, so the date is in figures, day first as these readers write it.
    "ru": _Labels(
        {
            MatchKind.NEW: "Новый тендер",
            MatchKind.AMENDED: "Изменён",
            MatchKind.CANCELLED: "Отменён",
        },
        "срок",
        date_pattern="d.MM HH:mm",
    ),
    "ar": _Labels(
        {MatchKind.NEW: "مناقصة جديدة", MatchKind.AMENDED: "تعديل", MatchKind.CANCELLED: "إلغاء"},
        "آخر موعد",
        date_pattern="d/M HH:mm",
    ),
    # "5 12月" is what "d MMM" gives in Chinese; "12月5日" is how a date is written.
    "zh": _Labels(
        {MatchKind.NEW: "新招标", MatchKind.AMENDED: "更正", MatchKind.CANCELLED: "取消"},
        "截止",
        date_pattern="M月d日 HH:mm",
    ),
}
LANGUAGES = tuple(_LABELS)


def is_gsm7(text: str) -> bool:
    return _GSM7_ALPHABET.issuperset(text)


def length_units(text: str) -> int:
    """Septets for GSM-7 text, UTF-16 code units for anything else."""
    if is_gsm7(text):
        return len(text) + sum(text.count(c) for c in _GSM7_EXTENDED)
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many parts the message is sent in.

    A handset cannot join an escape septet to a character in the next part, nor the halves
    of a surrogate pair, so such a character that would straddle a part boundary starts the
    next part instead, as encoders do.
    """
    encoding = _encoding_of(text)
    units = length_units(text)
    if units <= encoding.single:
        return 1
    if units == len(text):  # every character is one unit, so none can straddle
        return -(-units // encoding.per_part)
    gsm7 = encoding is _GSM7
    parts, used = 1, 0
    for c in text:
        width = (2 if c in _GSM7_EXTENDED else 1) if gsm7 else (2 if ord(c) > 0xFFFF else 1)
        if used + width > encoding.per_part:
            parts, used = parts + 1, 0
        used += width
    return parts


def to_gsm7(text: str) -> str | None:
    """`text` in its closest GSM-7 form, or None if it has a letter of a non-Latin script."""
    folded = []
    for c in unicodedata.normalize("NFC", text):
        if c in _GSM7_ALPHABET:
            folded.append(c)
            continue
        bare = "".join(d for d in unicodedata.normalize("NFKD", c) if not unicodedata.combining(d))
        if bare and is_gsm7(bare):
            # Accented letters, and forms such as º, ª, ﬁ and full-width A, whose plain letter
            # is in the alphabet.
            folded.append(bare)
        elif unicodedata.category(c).startswith("L") and not unicodedata.name(c, "").startswith(
            "LATIN"
        ):
            return None
        else:
            # The backtick is ASCII yet not GSM-7; to the reader it is an apostrophe.
            ascii_form = anyascii(c).replace("`", "'")
            folded.append(ascii_form if is_gsm7(ascii_form) else "")
    return "".join(folded)


def deadline_words(match: MatchCreated, *, language: str, timezone_name: str) -> str:
    """The deadline as the message gives it, before folding: "deadline 5 Dec 14:00."."""
    lang = _language(language)
    labels = _LABELS[lang]
    deadline = format_datetime(
        match.tender.deadline,
        labels.date_pattern,
        tzinfo=ZoneInfo(timezone_name),
        locale=Locale.parse(lang),
    )
    return f"{labels.deadline} {deadline}."


def compose(match: MatchCreated, *, language: str, timezone_name: str) -> str:
    labels = _LABELS[_language(language)]
    tender = match.tender
    words = _Words(
        prefix=labels.prefix[match.kind],
        agency=f" ({tender.agency})",
        # Tabs, line breaks and runs of spaces spend room (a tab is not even GSM-7).
        title=" ".join(tender.title.split()),
        deadline=" " + deadline_words(match, language=language, timezone_name=timezone_name),
        link=str(tender.url) if tender.url else "",
    )
    best = _best_fit(words.in_gsm7() or words)
    if segments(best.text) > MAX_PARTS and (untitled := replace(words, title="").in_gsm7()):
        # A title in another script that found no room at all: without it, the rest may fit
        # in GSM-7's larger room.
        best = _best_fit(untitled)
    return best.text


@dataclass(frozen=True)
class _Words:
    prefix: str
    agency: str
    title: str
    deadline: str
    link: str

    @property
    def tail(self) -> str:
        return f"{self.deadline} {self.link}" if self.link else self.deadline

    def in_gsm7(self) -> _Words | None:
        """These words folded into GSM-7, if they all can be; the link is never altered."""
        prefix, agency, title, deadline = (
            to_gsm7(part) for part in (self.prefix, self.agency, self.title, self.deadline)
        )
        if prefix is None or agency is None or title is None or deadline is None:
            return None
        if not is_gsm7(self.link):
            return None
        return _Words(prefix, agency, title, deadline, self.link)


def _best_fit(words: _Words) -> _Fit:
    with_agency = _fit(words.prefix + words.agency, words.title, words.tail)
    fits = segments(with_agency.text) <= MAX_PARTS
    if fits and len(with_agency.title) >= min(MIN_TITLE_CHARACTERS, len(words.title)):
        return with_agency
    without_agency = _fit(words.prefix, words.title, words.tail)
    return max(
        with_agency,
        without_agency,
        key=lambda fit: (segments(fit.text) <= MAX_PARTS, len(fit.title)),
    )


@dataclass(frozen=True)
class _Fit:
    text: str
    title: str


def _fit(head: str, title: str, tail: str) -> _Fit:
    """`head: title. tail`, the title cut to keep the whole within MAX_PARTS if need be."""
    if not title:
        return _Fit(f"{head}.{tail}", "")
    stop = "" if title.endswith((".", "!", "?", "…")) else "."
    whole = f"{head}: {title}{stop}{tail}"
    if segments(whole) <= MAX_PARTS:
        return _Fit(whole, title)
    ellipsis = _encoding_of(whole).ellipsis

    def candidate(kept: int) -> str:
        return f"{head}: {title[:kept]}{ellipsis}{tail}"

    if segments(candidate(0)) > MAX_PARTS:
        return _Fit(f"{head}.{tail}", "")
    # A longer cut never takes fewer parts, so the longest that fits is found by bisection.
    low, high = 0, len(title) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if segments(candidate(middle)) <= MAX_PARTS:
            low = middle
        else:
            high = middle - 1
    kept = _word_boundary(title, low)
    if not kept:
        return _Fit(f"{head}.{tail}", "")
    return _Fit(f"{head}: {kept}{ellipsis}{tail}", kept)


def _word_boundary(title: str, length: int) -> str:
    # Never part a letter from the accents that follow it.
    while 0 < length < len(title) and unicodedata.combining(title[length]):
        length -= 1
    cut = title[:length]
    if length < len(title) and not title[length].isspace():
        space = cut.rfind(" ")
        if space >= max(_WORD_BOUNDARY_SHARE * length, MIN_TITLE_CHARACTERS):
            cut = cut[:space]
    return cut.rstrip(_TRAILING_JUNK)


def _encoding_of(text: str) -> _Encoding:
    return _GSM7 if is_gsm7(text) else _UCS2


def _language(language: str) -> str:
    base = language.replace("_", "-").split("-")[0].lower()
    return base if base in _LABELS else "en"
