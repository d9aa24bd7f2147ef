"""The languages a supplier reads Tenderwire in, and how to pick one for a reader.

The six official UN languages and Portuguese, which four least developed countries use
(Mozambique, Angola, Guinea-Bissau, Timor-Leste). Portuguese is written as those countries
write it (European norm, CLDR's `pt_PT`); Chinese is Simplified.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Literal

from babel import Locale, UnknownLocaleError


class Language(StrEnum):
    EN = "en"
    FR = "fr"
    ES = "es"
    PT = "pt"
    RU = "ru"
    AR = "ar"
    ZH = "zh"


LANGUAGES: tuple[str, ...] = tuple(language.value for language in Language)
FALLBACK_LANGUAGE = Language.EN.value

# The CLDR locale whose formats, plural rules and names each language follows.
_CLDR_LOCALE = {"pt": "pt_PT", "zh": "zh_Hans"}

# gettext's Plural-Forms for each catalog, CLDR's integer rules written as C expressions
# (Babel's own table has an older Arabic rule and Brazilian Portuguese's). A unit test checks
# each against CLDR for every n up to 10,000.
PLURAL_FORMS: dict[str, tuple[int, str]] = {
    "en": (2, "(n != 1)"),
    "fr": (2, "(n > 1)"),
    "es": (2, "(n != 1)"),
    "pt": (2, "(n != 1)"),
    "ru": (
        3,
        "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<12 || n%100>14) ? 1 : 2)",
    ),
    "ar": (
        6,
        "(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5)",
    ),
    "zh": (1, "0"),
}


def supported(language: str | None) -> str | None:
    """`language` as one of LANGUAGES ("pt-BR" → "pt", "zh_Hans_CN" → "zh"), or None."""
    if not language:
        return None
    base = language.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def language_or_fallback(language: str | None) -> str:
    return supported(language) or FALLBACK_LANGUAGE


@cache
def locale(language: str) -> Locale:
    """The CLDR locale behind one of LANGUAGES: its date, number and currency formats."""
    lang = language_or_fallback(language)
    return Locale.parse(_CLDR_LOCALE.get(lang, lang))


@cache
def direction(language: str) -> Literal["ltr", "rtl"]:
    return "rtl" if locale(language).character_order == "right-to-left" else "ltr"


def _accepted(header: str) -> list[tuple[float, int, str]]:
    ranked = []
    for position, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and 0 < quality <= 1:
            ranked.append((-quality, position, tag.strip()))
    return sorted(ranked)


def negotiate(accept_language: str | None, registered: str | None = None) -> str:
    """The language to answer a reader in.

    The supplier's registered language first; for a page reached without one, the
    browser's `Accept-Language` (RFC 9110 12.5.4: by q-value, then order, "pt-BR" counting as
    Portuguese, "*" as no preference); English when neither names one of LANGUAGES.
    """
    chosen = supported(registered)
    if chosen:
        return chosen
    for _, _, tag in _accepted(accept_language or ""):
        if tag == "*":
            break
        chosen = supported(tag)
        if chosen:
            return chosen
    return FALLBACK_LANGUAGE


def display_name(language: str) -> str:
    """The language's name in itself ("العربية", "русский"), for a language picker."""
    try:
        name = locale(language).get_display_name()
    except UnknownLocaleError:  # pragma: no cover - every LANGUAGES entry is in CLDR
        return language
    return name or language
