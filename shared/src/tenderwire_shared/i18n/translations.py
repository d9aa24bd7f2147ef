"""A package's gettext catalogs at run time: `Messages` gives the compiled translations of one
language, and the markers that let Babel find messages written outside a template.

Catalogs live beside the package's code, `<package>/locale/<lang>/LC_MESSAGES/messages.po`,
with the compiled `.mo` next to it (`tw catalogs update` writes both; a test keeps them in
step). English is the source language: it has no catalog and reads the message ids.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Protocol

from babel.support import NullTranslations, Translations

from tenderwire_shared.i18n.languages import language_or_fallback

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


class Gettext(Protocol):
    def gettext(self, message: str) -> str: ...
    def ngettext(self, singular: str, plural: str, n: int) -> str: ...
    def pgettext(self, context: str, message: str) -> str: ...
    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str: ...


def N_(message: str) -> str:  # noqa: N802 - the name gettext tools look for
    """Marks a message for extraction where it is defined; translate it where it is shown."""
    return message


def NP_(context: str, message: str) -> tuple[str, str]:  # noqa: N802
    """As N_, for a message with a context: (context, message) for `pgettext` later."""
    return context, message


# What Babel's extractors look for in Python and in templates (`tw catalogs update`).
KEYWORDS: dict[str, tuple[int | tuple[int, str], ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "N_": None,
    "NP_": ((1, "c"), 2),
}


class Messages:
    """The translations of one package (its `locale` folder), loaded once per language."""

    def __init__(self, package: str) -> None:
        self.package = package

    def __repr__(self) -> str:
        return f"Messages({self.package!r})"

    def __call__(self, language: str) -> Gettext:
        return _load(self.package, language_or_fallback(language))


class _Words:
    """Babel's translations with the str results its type hints leave open."""

    def __init__(self, translations: NullTranslations) -> None:
        self._t = translations

    def gettext(self, message: str) -> str:
        return str(self._t.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(self._t.ngettext(singular, plural, n))

    def pgettext(self, context: str, message: str) -> str:
        return str(self._t.pgettext(context, message))

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return str(self._t.npgettext(context, singular, plural, n))


@cache
def _load(package: str, language: str) -> Gettext:
    if language == SOURCE_LANGUAGE:
        return _Words(NullTranslations())
    compiled = files(package).joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.mo")
    if not compiled.is_file():
        # Compiled catalogs are committed; a missing one is a packaging defect to see at once.
        raise FileNotFoundError(f"{package} has no compiled {language} catalog at {compiled}")
    with compiled.open("rb") as fp:
        return _Words(Translations(fp, domain=DOMAIN))
