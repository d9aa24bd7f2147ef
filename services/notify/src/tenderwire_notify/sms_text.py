"""The words of an SMS alert, and how long they are on the air.

Length: a message whose every character is in the GSM 03.38 alphabet goes as GSM-7 (160
septets, or 153 per part once split; the extension table's characters cost two); any other
goes as UCS-2 (70 UTF-16 units, or 67 per part). An alert is two parts at most, unless two
would leave its title fewer than `MIN_TITLE_CHARACTERS`: then it may take a third
(`MAX_PARTS_FOR_A_TITLE`). In practice that is a Russian, Arabic or Chinese alert beside a
long link, whose two UCS-2 parts hold only 134 characters.

The message is `<prefix> (<agency>): <title>. <deadline word> <deadline>. <link>` and, on a
line of its own, how to stop (`Reply STOP to opt out`, in the reader's language), or the same
with `<start of the title>...`. The link, the deadline and the way to stop are never cut; the
title gives way. Every word but the tender's own comes from the catalogs (msgctxt "sms").

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
  `MIN_TITLE_CHARACTERS`, the agency is left out (the link leads to it), and then a third
  part is allowed. Only when such a title finds no room even in three parts (a very long
  link) is it left out, and the rest folded into GSM-7.
- The link is never folded: pydantic already gives it as ASCII (punycode host, escaped path).

A title that does not fit is cut on the last word boundary when that keeps most of the room
and at least `MIN_TITLE_CHARACTERS` (otherwise, and in scripts written without spaces such
as Chinese, between characters, never between a letter and its accents), and ends in
"..." (GSM-7) or "…" (UCS-2).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from anyascii import anyascii
from babel.dates import format_skeleton, format_time

from tenderwire_notify.domain import SmsCommand
from tenderwire_notify.rendering import MESSAGES, continues, plain_tender
from tenderwire_shared.events.matches import MatchCreated, MatchKind
from tenderwire_shared.i18n import LANGUAGES, NP_, language_or_fallback, locale

__all__ = ["LANGUAGES", "compose", "refused_reply", "reply_to", "segments"]

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # each costs two septets: an escape, then the code
_GSM7_ALPHABET = _GSM7_BASIC | _GSM7_EXTENDED
MAX_PARTS = 2
# A title in a script GSM-7 lacks may take a third part, and only when two would leave it
# fewer than MIN_TITLE_CHARACTERS: without it a Russian, Arabic or Chinese reader, whose
# two parts hold 134 characters, would often get no title beside a long link.
MAX_PARTS_FOR_A_TITLE = 3
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


# Translators keep these short: every character they spend is one the tender's title loses.
_PREFIXES: dict[MatchKind, tuple[str, str]] = {
    # Translators: starts the SMS for a newly published tender, before the agency code.
    MatchKind.NEW: NP_("sms", "New tender"),
    # Translators: starts the SMS for an amended tender.
    MatchKind.AMENDED: NP_("sms", "Amended"),
    # Translators: starts the SMS for a cancelled tender.
    MatchKind.CANCELLED: NP_("sms", "Cancelled"),
}
# Translators: the SMS's deadline, after the title's full stop: "Deadline Dec 5 14:00.".
# Keep it short.
_DEADLINE = NP_("sms", "Deadline %(date)s.")
# Translators: ends every SMS alert. The word to reply must be one notify understands
# (domain.SMS_KEYWORDS), preferably the usual one in your language.
_HOW_TO_STOP = NP_("sms", "Reply STOP to opt out")


def how_to_stop(language: str) -> str:
    return MESSAGES(language).pgettext(*_HOW_TO_STOP)


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


_SHORTCODE = re.compile(r":[a-z0-9_+-]+:")


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
            if _SHORTCODE.fullmatch(ascii_form):
                # An emoji, which anyascii spells as ":sun_with_face:": noise that would cost
                # the title its room.
                ascii_form = ""
            folded.append(ascii_form if is_gsm7(ascii_form) else "")
    return "".join(folded)


def deadline_words(match: MatchCreated, *, language: str, timezone_name: str) -> str:
    """The deadline as the message gives it, before folding: "Deadline Dec 5 14:00."; the
    date is CLDR's day-and-month for the language (12月5日, 5 дек., 5 ديسمبر)."""
    lang = language_or_fallback(language)
    cldr = locale(lang)
    moment = match.tender.deadline.astimezone(ZoneInfo(timezone_name))
    day = format_skeleton("MMMd", moment, locale=cldr)
    when = f"{day} {format_time(moment, 'HH:mm', locale=cldr)}"
    return MESSAGES(lang).pgettext(*_DEADLINE) % {"date": when}


def compose(match: MatchCreated, *, language: str, timezone_name: str) -> str:
    lang = language_or_fallback(language)
    tender = plain_tender(match.tender)
    link = str(tender.url) if tender.url else ""
    words = _Words(
        prefix=MESSAGES(lang).pgettext(*_PREFIXES[match.kind]),
        agency=f" ({tender.agency})",
        # Tabs, line breaks and runs of spaces spend room (a tab is not even GSM-7).
        title=" ".join(tender.title.split()),
        deadline=" " + deadline_words(match, language=lang, timezone_name=timezone_name),
        link=link,
        # On a line of its own, so no phone takes it for part of the link.
        stop="\n" + how_to_stop(lang),
    )
    best = _best_fit(words.in_gsm7() or words, MAX_PARTS)
    if len(best.title) < min(MIN_TITLE_CHARACTERS, len(words.title)):
        best = max(
            best,
            _best_fit(words.in_gsm7() or words, MAX_PARTS_FOR_A_TITLE),
            key=lambda fit: len(fit.title),
        )
    if segments(best.text) > MAX_PARTS_FOR_A_TITLE and (
        untitled := replace(words, title="").in_gsm7()
    ):
        # A title in another script that found no room at all: without it, the rest may fit
        # in GSM-7's larger room.
        best = _best_fit(untitled, MAX_PARTS)
    return best.text


@dataclass(frozen=True)
class _Words:
    prefix: str
    agency: str
    title: str
    deadline: str
    link: str
    stop: str

    @property
    def tail(self) -> str:
        return f"{self.deadline} {self.link}{self.stop}" if self.link else self.deadline + self.stop

    def in_gsm7(self) -> _Words | None:
        """These words folded into GSM-7, if they all can be; the link is never altered."""
        prefix, agency, title, deadline, stop = (
            to_gsm7(part)
            for part in (self.prefix, self.agency, self.title, self.deadline, self.stop)
        )
        if prefix is None or agency is None or title is None or deadline is None or stop is None:
            return None
        if not is_gsm7(self.link):
            return None
        # What folding left out (emoji) leaves its spaces behind.
        title = " ".join(title.split())
        if self.title and not title:
            # A title of emoji alone: better as it is, in UCS-2, than not at all.
            return None
        return _Words(prefix, agency, title, deadline, self.link, stop)


def _best_fit(words: _Words, parts: int) -> _Fit:
    with_agency = _fit(words.prefix + words.agency, words.title, words.tail, parts)
    fits = segments(with_agency.text) <= parts
    if fits and len(with_agency.title) >= min(MIN_TITLE_CHARACTERS, len(words.title)):
        return with_agency
    without_agency = _fit(words.prefix, words.title, words.tail, parts)
    return max(
        with_agency,
        without_agency,
        key=lambda fit: (segments(fit.text) <= parts, len(fit.title)),
    )


@dataclass(frozen=True)
class _Fit:
    text: str
    title: str


def _fit(head: str, title: str, tail: str, parts: int) -> _Fit:
    """`head: title. tail`, the title cut to keep the whole within `parts` if need be."""
    if not title:
        return _Fit(f"{head}.{tail}", "")
    stop = "" if title.endswith((".", "!", "?", "…")) else "."
    whole = f"{head}: {title}{stop}{tail}"
    if segments(whole) <= parts:
        return _Fit(whole, title)
    ellipsis = _encoding_of(whole).ellipsis

    def candidate(kept: int) -> str:
        return f"{head}: {title[:kept]}{ellipsis}{tail}"

    if segments(candidate(0)) > parts:
        return _Fit(f"{head}.{tail}", "")
    # A longer cut never takes fewer parts, so the longest that fits is found by bisection.
    low, high = 0, len(title) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if segments(candidate(middle)) <= parts:
            low = middle
        else:
            high = middle - 1
    kept = _word_boundary(title, low)
    if not kept:
        return _Fit(f"{head}.{tail}", "")
    return _Fit(f"{head}: {kept}{ellipsis}{tail}", kept)


def _word_boundary(title: str, length: int) -> str:
    # Never part a letter from the accents that follow it, nor an emoji from what completes it.
    while 0 < length < len(title) and continues(title, length):
        length -= 1
    cut = title[:length]
    if length < len(title) and not title[length].isspace():
        space = cut.rfind(" ")
        if space >= max(_WORD_BOUNDARY_SHARE * length, MIN_TITLE_CHARACTERS):
            cut = cut[:space]
    return cut.rstrip(_TRAILING_JUNK)


def _encoding_of(text: str) -> _Encoding:
    return _GSM7 if is_gsm7(text) else _UCS2


# What notify answers a reply with (as TwiML, so the provider sends it back at once). Each
# names the word for the opposite action in the reader's language.
_REPLIES: dict[SmsCommand, tuple[str, str]] = {
    # Translators: the SMS answering a STOP. The word to reply must be one notify
    # understands (domain.SMS_KEYWORDS).
    SmsCommand.STOP: NP_(
        "sms",
        "Tenderwire: you will get no more text messages about tenders. Reply START to resume.",
    ),
    # Translators: the SMS answering a START.
    SmsCommand.START: NP_(
        "sms", "Tenderwire: text messages about tenders start again. Reply STOP to opt out."
    ),
    # Translators: the SMS answering HELP.
    SmsCommand.HELP: NP_(
        "sms",
        "Tenderwire tender alerts. Reply STOP to opt out, START to resume. Help: %(contact)s",
    ),
}


# Translators: the SMS answering a START from a number the provider refused (it does not
# exist, or cannot receive texts): alerts stay off until it can.
_REFUSED = NP_(
    "sms", "Tenderwire: texts to this number were refused, so they stay off. Help: %(contact)s"
)


def refused_reply(*, language: str, help_contact: str) -> str:
    """The answer to a START when the number stays suppressed for another reason."""
    text = MESSAGES(language_or_fallback(language)).pgettext(*_REFUSED) % {"contact": help_contact}
    return to_gsm7(text) or text


def reply_to(command: SmsCommand, *, language: str, help_contact: str) -> str:
    """The answer to a STOP, START or HELP, in the sender's language, folded into GSM-7 as an
    alert is when its script allows (so a French or Spanish reply costs one part)."""
    text = MESSAGES(language_or_fallback(language)).pgettext(*_REPLIES[command])
    if command is SmsCommand.HELP:
        text %= {"contact": help_contact}
    return to_gsm7(text) or text
