"""Notice fields read from a release's tender and parties, repaired where they can be, with a
note for each repair."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pycountry
from pydantic import ValidationError

from tenderwire_notices.ocds import parties, vocabulary
from tenderwire_notices.ocds.plain_text import plain_line, plain_paragraphs
from tenderwire_notices.ocds.release import ReleaseError
from tenderwire_notices.ocds.untrusted import (
    as_object,
    as_text,
    objects_in,
    parse_datetime,
    shown,
)
from tenderwire_notices.schemas import NoticeContact, NoticeDocument, check_email, check_phone
from tenderwire_shared import cpv
from tenderwire_shared.events.tenders import Classification, NoticeType
from tenderwire_shared.unspsc import check_code

UNSPSC = "UNSPSC"
# CPV's main vocabulary; "CPVS", its supplementary vocabulary (attributes such as "TA10"), is
# kept among the classifications only: its codes are no CPV codes.
CPV = "CPV"
MAX_CODES = 200
MAX_CLASSIFICATIONS = 500
MAX_CODE_LENGTH = 20
MAX_DOCUMENTS = 50
MAX_CONTACTS = 20


def required_line(tender: Mapping[str, Any], key: str, notes: list[str], max_length: int) -> str:
    value = as_text(tender.get(key))
    if value is None:
        raise ReleaseError(f"tender.{key} is missing; a notice needs one")
    text, changed = plain_line(value, f"tender.{key}", max_length=max_length)
    notes.extend(changed)
    return text


def description(tender: Mapping[str, Any], notes: list[str]) -> str:
    value = as_text(tender.get("description"))
    if value is None:
        return ""
    text, changed = plain_paragraphs(value, "tender.description", max_length=20_000)
    notes.extend(changed)
    return text


def language(release: Mapping[str, Any], notes: list[str]) -> str:
    value = as_text(release.get("language"))
    if value is None:
        return "en"
    # "en-GB" and "es_PY" name a language and a region; the notice keeps the language.
    code = value.replace("_", "-").split("-")[0].lower()
    if len(code) == 2 and pycountry.languages.get(alpha_2=code) is not None:
        return code
    notes.append(f"language {value[:50]!r} is not an ISO 639-1 code; imported as English")
    return "en"


def notice_type(tender: Mapping[str, Any], notes: list[str]) -> NoticeType:
    method = as_text(tender.get("procurementMethod"))
    if method in vocabulary.NOTICE_TYPE_BY_METHOD:
        return vocabulary.NOTICE_TYPE_BY_METHOD[method]
    details = as_text(tender.get("procurementMethodDetails"))
    named = vocabulary.notice_type_named(details) if details else None
    if named is not None:
        return named
    default = vocabulary.DEFAULT_NOTICE_TYPE
    if method is None:
        notes.append(f"no tender.procurementMethod; imported as {default.value}")
    else:
        notes.append(f"tender.procurementMethod {method[:50]!r} is unknown; imported as {default}")
    return default


def deadline(tender: Mapping[str, Any], notes: list[str]) -> datetime | None:
    raw = as_object(tender.get("tenderPeriod")).get("endDate")
    if raw is None:
        return None
    moment, naive = parse_datetime(raw)
    if moment is None:
        raise ReleaseError("tender.tenderPeriod.endDate is not an ISO 8601 date-time")
    if naive:
        notes.append("tender.tenderPeriod.endDate has no UTC offset; read as UTC")
    return moment


def _classifications(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        as_object(item.get("classification")),
        *objects_in(item.get("additionalClassifications")),
    ]


def _scheme_codes(
    tender: Mapping[str, Any],
    scheme_name: str,
    check: Callable[[str], str],
    notes: list[str],
) -> tuple[list[str], set[str]]:
    """The codes of one scheme in the tender's items (main and additional classifications),
    each checked, deduplicated and capped, a bad one dropped with a note; and the other
    schemes the items name."""
    codes: list[str] = []
    other_schemes: set[str] = set()
    for item in objects_in(tender.get("items")):
        for classification in _classifications(item):
            scheme = as_text(classification.get("scheme"))
            code = as_text(classification.get("id"))
            if scheme is None or code is None:
                continue
            if scheme.upper() != scheme_name:
                other_schemes.add(shown(scheme)[:30])
                continue
            if len(code) > MAX_CODE_LENGTH:  # never one; don't echo it in the notes
                notes.append(f"{scheme_name} code {code[:20]!r}... is not a code; dropped")
                continue
            try:
                codes.append(check(code))
            except ValueError as exc:
                notes.append(f"{exc}; dropped")
    codes = list(dict.fromkeys(codes))
    if len(codes) > MAX_CODES:
        notes.append(f"{len(codes)} {scheme_name} codes; only the first {MAX_CODES} imported")
        codes = codes[:MAX_CODES]
    return codes, other_schemes


def unspsc_codes(tender: Mapping[str, Any], notes: list[str]) -> list[str]:
    """UNSPSC codes of the tender's items; says why a tender ends up with none."""
    codes, other_schemes = _scheme_codes(tender, UNSPSC, check_code, notes)
    if not codes:
        if other_schemes:
            schemes = ", ".join(sorted(other_schemes))
            matched_by = (
                "suppliers are matched to it by its CPV codes"
                if CPV in {s.upper() for s in other_schemes}
                else "so no supplier is matched to it by code"
            )
            notes.append(
                f"items are classified only with {schemes}, not UNSPSC: imported without"
                f" UNSPSC codes; {matched_by}"
            )
        else:
            notes.append("no item classification: imported without UNSPSC codes")
    return codes


def cpv_codes(tender: Mapping[str, Any], notes: list[str]) -> list[str]:
    """CPV codes of the tender's items, 8 digits with the check digit dropped; a code that is
    no CPV code is dropped with a note. Scheme "CPVS" (the supplementary vocabulary) is not
    read here."""
    codes, _ = _scheme_codes(tender, CPV, cpv.normalise, notes)
    return codes


def classifications(tender: Mapping[str, Any], notes: list[str]) -> list[Classification]:
    """Every item classification (main and additional) in any scheme, as the source wrote it,
    once each by scheme and code: kept to show, and for keywords."""
    found: dict[tuple[str, str], Classification] = {}
    for item in objects_in(tender.get("items")):
        for classification in _classifications(item):
            scheme = as_text(classification.get("scheme"))
            code = as_text(classification.get("id"))
            if scheme is None or code is None:
                continue
            # Shown and stored as given, so as plain text: no markup, no control characters.
            scheme, scheme_notes = plain_line(scheme, "item classification scheme", max_length=40)
            code, code_notes = plain_line(code, "item classification id", max_length=100)
            notes.extend([*scheme_notes, *code_notes])
            if not scheme or not code or (scheme.upper(), code) in found:
                continue
            text = as_text(classification.get("description"))
            description = None
            if text:
                description, changed = plain_line(
                    text, "item classification description", max_length=1000
                )
                notes.extend(changed)
            found[(scheme.upper(), code)] = Classification(
                scheme=scheme, code=code, description=description or None
            )
    kept = list(found.values())
    if len(kept) > MAX_CLASSIFICATIONS:
        notes.append(f"{len(kept)} item classifications; only the first {MAX_CLASSIFICATIONS} kept")
        kept = kept[:MAX_CLASSIFICATIONS]
    return kept


def _delivery_addresses(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # The OCDS Location extension: items[].deliveryAddress, and deliveryAddresses in its later
    # versions; core 1.1 has no field for where goods go.
    return [as_object(item.get("deliveryAddress")), *objects_in(item.get("deliveryAddresses"))]


def delivery_countries(
    tender: Mapping[str, Any], notes: list[str], language: str | None = None
) -> list[str]:
    """The countries the items are delivered to, every one the data names."""
    countries: list[str] = []
    for item in objects_in(tender.get("items")):
        for address in _delivery_addresses(item):
            name = as_text(address.get("countryName"))
            if name is not None:
                code = parties.alpha3(name, "delivery country", notes, language)
                if code is not None:
                    countries.append(code)
    return list(dict.fromkeys(countries))


def beneficiary_countries(release: Mapping[str, Any], notes: list[str]) -> list[str]:
    """The rule: the items' delivery countries; else the buyer's country; else the procuring
    entity's. Multiple or unspecified destinations ([]) only when none of them names one."""
    tender = as_object(release.get("tender"))
    language = parties.language_of(release)
    countries = delivery_countries(tender, notes, language)
    if countries:
        return countries
    for what, party in (
        ("buyer", parties.buyer(release)),
        ("procuring entity", parties.procuring_entity(release)),
    ):
        name = parties.country_of(party)
        if name is None:
            continue
        code = parties.alpha3(name, f"the {what}'s country", notes, language)
        if code is not None:
            notes.append(f"beneficiary country taken from the {what}'s address ({name[:100]})")
            return [code]
    notes.append(
        "no delivery, buyer or procuring entity country can be read: imported for multiple or"
        " unspecified countries, so it passes every supplier's country filter"
    )
    return []


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an unclosed IPv6 host
        return ""


def _document(raw: Mapping[str, Any], notes: list[str]) -> NoticeDocument | None:
    url = as_text(raw.get("url"))
    label = as_text(raw.get("id")) or "?"
    if url is None or _scheme(url) not in ("http", "https"):
        notes.append(f"document {label[:50]!r} has no http(s) url; dropped")
        return None
    title_source = (
        as_text(raw.get("title")) or as_text(raw.get("description")) or f"Document {label}"
    )
    title, changed = plain_line(title_source, "document title", max_length=500)
    notes.extend(changed)
    try:
        return NoticeDocument.model_validate({"title": title or f"Document {label}", "url": url})
    except ValidationError:
        notes.append(f"document {label[:50]!r} has a url that is not valid; dropped")
        return None


def documents(tender: Mapping[str, Any], notes: list[str]) -> list[NoticeDocument]:
    documents: dict[str, NoticeDocument] = {}
    for raw in objects_in(tender.get("documents")):
        if as_text(raw.get("documentType")) == vocabulary.CANCELLATION_DETAILS:
            continue  # the reasons for a cancellation, not a document for bidders
        document = _document(raw, notes)
        if document is not None:
            documents.setdefault(str(document.url), document)
    found = list(documents.values())
    if len(found) > MAX_DOCUMENTS:
        notes.append(f"{len(found)} documents; only the first {MAX_DOCUMENTS} imported")
    return found[:MAX_DOCUMENTS]


def _region(party: Mapping[str, Any], language: str | None) -> str | None:
    """The party's country as ISO 3166 alpha-2, for reading its national phone numbers."""
    name = parties.country_of(party)
    code = None if name is None else parties.country_code(name, language)
    country = None if code is None else pycountry.countries.get(alpha_3=code)
    return None if country is None else str(country.alpha_2)


def _contact_detail(
    value: str, what: str, check: Callable[[str], str], notes: list[str]
) -> str | None:
    """A contact's e-mail or phone as the notice API would accept it, or None with a note:
    a bad detail drops only itself, not the contact."""
    text, changed = plain_line(value, f"contact {what}", max_length=10_000)
    try:
        checked = check(text)
    except ValueError as exc:
        notes.append(f"contact {what} {text[:50]!r} {exc}; dropped")
        return None
    notes.extend(changed)
    return checked


def _contact(
    party: Mapping[str, Any], notes: list[str], language: str | None
) -> NoticeContact | None:
    point = as_object(party.get("contactPoint"))
    if not point:
        return None
    name_source = as_text(point.get("name")) or as_text(party.get("name"))
    if name_source is None:
        return None
    name, changed = plain_line(name_source, "contact name", max_length=200)
    notes.extend(changed)
    fields: dict[str, str] = {"name": name}
    email = as_text(point.get("email"))
    if email is not None:
        checked = _contact_detail(email, "e-mail", check_email, notes)
        if checked is not None:
            fields["email"] = checked
    phone = as_text(point.get("telephone"))
    if phone is not None:
        region = _region(party, language)
        # Publishers write their own country's numbers nationally ("01234 345 346").
        checked = _contact_detail(phone, "phone", lambda v: check_phone(v, region), notes)
        if checked is not None:
            fields["phone"] = checked
    try:
        return NoticeContact.model_validate(fields)
    except ValidationError:
        return None


def contacts(release: Mapping[str, Any], notes: list[str]) -> list[NoticeContact]:
    contacts: list[NoticeContact] = []
    entity, buyer = parties.procuring_entity(release), parties.buyer(release)
    # Usually one party plays both roles; read it once, so its notes appear once.
    for party in (entity,) if buyer is entity else (entity, buyer):
        contact = _contact(party, notes, parties.language_of(release))
        if contact is not None and contact not in contacts:
            contacts.append(contact)
    return contacts[:MAX_CONTACTS]
