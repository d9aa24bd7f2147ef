"""Parties: the buyer, the procuring entity and suppliers a release refers to, and their
countries."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pycountry
from babel import Locale, UnknownLocaleError, localedata

from tenderwire_notices.ocds.plain_text import plain_line
from tenderwire_notices.ocds.untrusted import as_object, as_text, objects_in
from tenderwire_shared.countries import to_alpha3


def party(release: Mapping[str, Any], reference: object, role: str | None) -> Mapping[str, Any]:
    """The party a reference points at by id; else the first with `role`; else the reference
    itself, which OCDS 1.0 data uses to carry the organisation's details inline."""
    ref = as_object(reference)
    parties = objects_in(release.get("parties"))
    wanted = as_text(ref.get("id"))
    if wanted is not None:
        for party in parties:
            if as_text(party.get("id")) == wanted:
                return party
    if role is not None:
        for party in parties:
            roles = party.get("roles")
            if isinstance(roles, list) and role in roles:
                return party
    return ref


def buyer(release: Mapping[str, Any]) -> Mapping[str, Any]:
    return party(release, release.get("buyer"), "buyer")


# The OCDS Organization fields a buyer is kept with for the exports, all of them strings; the
# ones OCDS gives the "uri" format are kept only as absolute http(s) URLs.
_BUYER_FIELDS: Mapping[str, tuple[str, ...]] = {
    "identifier": ("scheme", "id", "legalName", "uri"),
    "address": ("streetAddress", "locality", "region", "postalCode", "countryName"),
    "contactPoint": ("name", "email", "telephone", "faxNumber", "url"),
}
_URI_FIELDS = frozenset({"uri", "url"})
_MAX_BUYER_TEXT = 500


def _kept_text(value: object, field: str) -> str | None:
    text = as_text(value)
    if text is None:
        return None
    cleaned, _ = plain_line(text, field, max_length=_MAX_BUYER_TEXT)
    if not cleaned:
        return None
    if field in _URI_FIELDS:
        parts = urlsplit(cleaned)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in cleaned:
            return None
    return cleaned


def buyer_to_keep(release: Mapping[str, Any]) -> dict[str, Any] | None:
    """The buyer the release names (its `buyer` reference into `parties`, else the party with
    role "buyer", else an OCDS 1.0 inline buyer), as plain OCDS Organization fields for the
    exports: the publisher's own id, its name, identifier, address and contact point. Text
    cleaned to one plain line, unreadable values dropped. None when no buyer with a name is
    named."""
    reference = release.get("buyer")
    if reference is None and not any(
        isinstance(p.get("roles"), list) and "buyer" in p["roles"]
        for p in objects_in(release.get("parties"))
    ):
        return None
    found = buyer(release)
    name = _kept_text(found.get("name"), "name") or _kept_text(
        as_object(reference).get("name"), "name"
    )
    if name is None:
        return None
    kept: dict[str, Any] = {"name": name}
    party_id = _kept_text(found.get("id"), "id") or _kept_text(as_object(reference).get("id"), "id")
    if party_id is not None:
        kept["id"] = party_id
    for block, fields in _BUYER_FIELDS.items():
        source = as_object(found.get(block))
        values = {f: v for f in fields if (v := _kept_text(source.get(f), f)) is not None}
        if values:
            kept[block] = values
    return kept


def procuring_entity(release: Mapping[str, Any]) -> Mapping[str, Any]:
    return party(
        release, as_object(release.get("tender")).get("procuringEntity"), "procuringEntity"
    )


def country_of(party: Mapping[str, Any]) -> str | None:
    return as_text(as_object(party.get("address")).get("countryName"))


def language_of(release: Mapping[str, Any]) -> str | None:
    """The release's language as an ISO 639-1 code ("es" of "es_PY"), if it names one."""
    value = as_text(release.get("language"))
    if value is None:
        return None
    code = value.replace("_", "-").split("-")[0].lower()
    return code if len(code) == 2 and code.isalpha() else None


# The UN's six official languages, tried first, then the publisher's own.
UN_LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
_PUNCTUATION = re.compile(r"[\s.,;:()'\"’\-]+")


def _folded(name: str) -> str:
    """A name as it is looked up: case, accents, punctuation and spacing set aside."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _PUNCTUATION.sub(" ", bare).strip()


def _iso_alpha3(alpha2: str) -> str | None:
    country = pycountry.countries.get(alpha_2=alpha2) if len(alpha2) == 2 else None
    return None if country is None else str(country.alpha_3)


@cache
def _names_in(language: str) -> Mapping[str, str]:
    """CLDR's names of the countries in one language (Babel), folded -> ISO alpha-3."""
    try:
        locale = Locale.parse(language)
    except (ValueError, UnknownLocaleError):
        return {}
    names: dict[str, str] = {}
    for code, name in locale.territories.items():
        alpha3 = _iso_alpha3(code)  # CLDR also names regions ("419") and "EU", "XK"...
        if alpha3 is not None:
            names.setdefault(_folded(name), alpha3)
    return names


@cache
def _names_anywhere() -> Mapping[str, str]:
    """Every language CLDR has, for a name in none of the release's: only the names that mean
    one country in every language that has them."""
    found: dict[str, set[str]] = {}
    for identifier in localedata.locale_identifiers():
        if "_" not in identifier:
            for name, alpha3 in _names_in(identifier).items():
                found.setdefault(name, set()).add(alpha3)
    return {name: codes.pop() for name, codes in found.items() if len(codes) == 1}


def country_code(name: str, language: str | None = None) -> str | None:
    """ISO alpha-3 for a country named as a code, in English or ISO's names (pycountry), in a
    UN language or the publisher's own (CLDR's names, through Babel); None if none knows it."""
    try:
        return to_alpha3(name)
    except ValueError:
        pass
    folded = _folded(name)
    if not folded:
        return None
    languages = [*UN_LANGUAGES]
    if language is not None and language not in languages:
        languages.append(language)
    for candidate in languages:
        found = _names_in(candidate).get(folded)
        if found is not None:
            return found
    return _names_anywhere().get(folded)


def alpha3(name: str, what: str, notes: list[str], language: str | None = None) -> str | None:
    """`country_code`, saying in the notes how a name outside ISO's English ones was read."""
    try:
        return to_alpha3(name)
    except ValueError:
        code = country_code(name, language)
    if code is None:
        note = f"{what} {name[:100]!r} is not a country Tenderwire knows; dropped"
    else:
        note = f"{what} {name[:100]!r} read as {code}"
    if note not in notes:  # one note per name, however many items repeat it
        notes.append(note)
    return code
