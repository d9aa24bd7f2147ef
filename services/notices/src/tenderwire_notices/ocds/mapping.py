"""One OCDS 1.1 release -> the lifecycle steps it asks for. Pure: no I/O, no clock.

Releases come from other systems and are trusted for nothing: any field may be missing, of the
wrong type or hostile. What can be repaired (markup in a title, a naive date, a country name
that is no country) is repaired and reported in the step's notes; what cannot makes the whole
release fail with a ReleaseError naming the field. Pydantic then validates the result exactly
as it validates what agencies send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import pycountry
from pydantic import BaseModel, ValidationError

from tenderwire_notices.ocds import standard, vocabulary
from tenderwire_notices.ocds.plain_text import plain_line, plain_paragraphs
from tenderwire_notices.schemas import (
    Amendment,
    AwardDecision,
    Cancellation,
    NoticeContact,
    NoticeDocument,
    NoticeDraft,
    check_email,
    check_phone,
)
from tenderwire_shared.countries import to_alpha3
from tenderwire_shared.events.tenders import NoticeType, TenderSnapshot
from tenderwire_shared.text import CONTROL_ONE_LINE, check_line
from tenderwire_shared.unspsc import check_code

# Tells NoticeDraft (and Amendment) that a notice without UNSPSC codes is acceptable: releases
# classified only with CPV or a national scheme still import.
IMPORT_CONTEXT = {"ocds_import": True}

MAX_ID_LENGTH = 200  # ocids and release ids become notice references and ledger keys
UNSPSC = "UNSPSC"
MAX_CODES = 200
MAX_CODE_LENGTH = 20
MAX_DOCUMENTS = 50
MAX_CONTACTS = 20
# The releaseTag codelist has 18 codes, the longest 22 characters long.
MAX_TAGS = 20
MAX_TAG_LENGTH = 50


class ReleaseError(ValueError):
    """The release cannot become lifecycle steps; the message names the field and says why."""


@dataclass(frozen=True)
class ReleaseHeader:
    """The fields every release must have, checked."""

    ocid: str
    release_id: str
    date: datetime
    tags: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BrokenRelease:
    """A release without a usable ocid, id, date or tag: reported, never imported."""

    ocid: str | None
    release_id: str | None
    tags: tuple[str, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Step:
    release_id: str
    ocid: str
    date: datetime
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PublishStep(Step):
    """A "tender" release: a new notice, or an amendment of the one already imported."""

    draft: NoticeDraft
    amendment_reason: str


@dataclass(frozen=True, kw_only=True)
class AmendStep(Step):
    """The fields the release carries, before comparing them with the notice."""

    proposed: Amendment


@dataclass(frozen=True, kw_only=True)
class CancelStep(Step):
    reason: str


@dataclass(frozen=True, kw_only=True)
class AwardStep(Step):
    decision: AwardDecision


@dataclass(frozen=True, kw_only=True)
class SkipStep(Step):
    tag: str
    reason: str


ImportStep = PublishStep | AmendStep | CancelStep | AwardStep | SkipStep


# --- reading untrusted JSON -------------------------------------------------------------------


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _objects(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _text(value: object) -> str | None:
    """A non-empty string, or a number written as one (ids are often numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse_datetime(value: object) -> tuple[datetime | None, bool]:
    """(the moment, whether it had no offset and was read as UTC); (None, False) if unreadable."""
    text = _text(value)
    if text is None:
        return None, False
    try:
        parsed = datetime.fromisoformat(text)
        naive = parsed.tzinfo is None
        if naive:
            parsed = parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC)  # year 1 at +05:00 or 9999 at -05:00 has no UTC instant
    except (ValueError, OverflowError):
        return None, False
    return parsed, naive


# --- the release header -----------------------------------------------------------------------


def _identifier(release: Mapping[str, Any], name: str, problems: list[str]) -> str | None:
    value = release.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} is missing or not a non-empty string")
        return None
    value = value.strip()
    try:
        check_line(value)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return None
    if len(value) > MAX_ID_LENGTH:
        problems.append(f"{name} is longer than {MAX_ID_LENGTH} characters")
        return None
    return value


def _shown(tag: str) -> str:
    return " ".join(CONTROL_ONE_LINE.sub(" ", tag[:MAX_TAG_LENGTH]).split())


def _check_tags(tags: tuple[str, ...], problems: list[str]) -> None:
    # Tags are echoed in the report and its notes, which are stored (jsonb cannot hold NUL).
    if len(tags) > MAX_TAGS:
        problems.append(f"tag has {len(tags)} entries; a release has at most {MAX_TAGS}")
        return  # one problem, not one per entry: the report stays small
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            problems.append(f"tag {tag[:20]!r}... is longer than {MAX_TAG_LENGTH} characters")
        else:
            try:
                check_line(tag)
            except ValueError as exc:
                problems.append(f"tag {tag!r}: {exc}")


def read_header(release: object) -> ReleaseHeader | BrokenRelease:
    if not isinstance(release, Mapping):
        problem = f"a release must be a JSON object, not {type(release).__name__}"
        return BrokenRelease(None, None, (), (problem,))
    problems: list[str] = []
    notes: list[str] = []
    ocid = _identifier(release, "ocid", problems)
    release_id = _identifier(release, "id", problems)
    moment, naive = parse_datetime(release.get("date"))
    if moment is None:
        problems.append("date is missing or not an ISO 8601 date-time")
    elif naive:
        notes.append("release date has no UTC offset; read as UTC")
    raw_tags = release.get("tag")
    tags: tuple[str, ...] = ()
    if isinstance(raw_tags, list) and raw_tags and all(isinstance(t, str) for t in raw_tags):
        tags = tuple(dict.fromkeys(raw_tags))
        _check_tags(tags, problems)
    else:
        problems.append("tag is missing or not a non-empty array of strings")
    if problems or ocid is None or release_id is None or moment is None:
        # Only for the report: kept small, and free of what the report's store cannot hold.
        shown = tuple(_shown(t) for t in tags[:MAX_TAGS])
        return BrokenRelease(ocid, release_id, shown, tuple(problems))
    return ReleaseHeader(ocid, release_id, moment, tags, tuple(notes))


# --- parties ----------------------------------------------------------------------------------


def _party(release: Mapping[str, Any], reference: object, role: str | None) -> Mapping[str, Any]:
    """The party a reference points at by id; else the first with `role`; else the reference
    itself, which OCDS 1.0 data uses to carry the organisation's details inline."""
    ref = _obj(reference)
    parties = _objects(release.get("parties"))
    wanted = _text(ref.get("id"))
    if wanted is not None:
        for party in parties:
            if _text(party.get("id")) == wanted:
                return party
    if role is not None:
        for party in parties:
            roles = party.get("roles")
            if isinstance(roles, list) and role in roles:
                return party
    return ref


def _buyer(release: Mapping[str, Any]) -> Mapping[str, Any]:
    return _party(release, release.get("buyer"), "buyer")


def _procuring_entity(release: Mapping[str, Any]) -> Mapping[str, Any]:
    return _party(release, _obj(release.get("tender")).get("procuringEntity"), "procuringEntity")


def _country_of(party: Mapping[str, Any]) -> str | None:
    return _text(_obj(party.get("address")).get("countryName"))


def _alpha3(name: str, what: str, notes: list[str]) -> str | None:
    try:
        return to_alpha3(name)
    except ValueError:
        notes.append(f"{what} {name[:100]!r} is not a country Tenderwire knows; dropped")
        return None


# --- notice fields ----------------------------------------------------------------------------


def _required_line(tender: Mapping[str, Any], key: str, notes: list[str], max_length: int) -> str:
    value = _text(tender.get(key))
    if value is None:
        raise ReleaseError(f"tender.{key} is missing; a notice needs one")
    text, changed = plain_line(value, f"tender.{key}", max_length=max_length)
    notes.extend(changed)
    return text


def _description(tender: Mapping[str, Any], notes: list[str]) -> str:
    value = _text(tender.get("description"))
    if value is None:
        return ""
    text, changed = plain_paragraphs(value, "tender.description", max_length=20_000)
    notes.extend(changed)
    return text


def _language(release: Mapping[str, Any], notes: list[str]) -> str:
    value = _text(release.get("language"))
    if value is None:
        return "en"
    # "en-GB" and "es_PY" name a language and a region; the notice keeps the language.
    code = value.replace("_", "-").split("-")[0].lower()
    if len(code) == 2 and pycountry.languages.get(alpha_2=code) is not None:
        return code
    notes.append(f"language {value[:50]!r} is not an ISO 639-1 code; imported as English")
    return "en"


def _notice_type(tender: Mapping[str, Any], notes: list[str]) -> NoticeType:
    method = _text(tender.get("procurementMethod"))
    if method in vocabulary.NOTICE_TYPE_BY_METHOD:
        return vocabulary.NOTICE_TYPE_BY_METHOD[method]
    details = _text(tender.get("procurementMethodDetails"))
    named = vocabulary.notice_type_named(details) if details else None
    if named is not None:
        return named
    default = vocabulary.DEFAULT_NOTICE_TYPE
    if method is None:
        notes.append(f"no tender.procurementMethod; imported as {default.value}")
    else:
        notes.append(f"tender.procurementMethod {method[:50]!r} is unknown; imported as {default}")
    return default


def _deadline(tender: Mapping[str, Any], notes: list[str]) -> datetime | None:
    raw = _obj(tender.get("tenderPeriod")).get("endDate")
    if raw is None:
        return None
    moment, naive = parse_datetime(raw)
    if moment is None:
        raise ReleaseError("tender.tenderPeriod.endDate is not an ISO 8601 date-time")
    if naive:
        notes.append("tender.tenderPeriod.endDate has no UTC offset; read as UTC")
    return moment


def _classifications(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [_obj(item.get("classification")), *_objects(item.get("additionalClassifications"))]


def _unspsc_codes(tender: Mapping[str, Any], notes: list[str]) -> list[str]:
    """UNSPSC codes of the tender's items; says why a tender ends up with none."""
    codes: list[str] = []
    other_schemes: set[str] = set()
    for item in _objects(tender.get("items")):
        for classification in _classifications(item):
            scheme = _text(classification.get("scheme"))
            code = _text(classification.get("id"))
            if scheme is None or code is None:
                continue
            if scheme.upper() != UNSPSC:
                other_schemes.add(_shown(scheme)[:30])
                continue
            if len(code) > MAX_CODE_LENGTH:  # never one; don't echo it in the notes
                notes.append(f"UNSPSC code {code[:20]!r}... is not a code; dropped")
                continue
            try:
                codes.append(check_code(code))
            except ValueError as exc:
                notes.append(f"{exc}; dropped")
    codes = list(dict.fromkeys(codes))
    if len(codes) > MAX_CODES:
        notes.append(f"{len(codes)} UNSPSC codes; only the first {MAX_CODES} imported")
        codes = codes[:MAX_CODES]
    if not codes:
        if other_schemes:
            schemes = ", ".join(sorted(other_schemes))
            notes.append(
                f"items are classified only with {schemes}, not UNSPSC: imported without"
                " UNSPSC codes, so no supplier is matched to it by code"
            )
        else:
            notes.append("no item classification: imported without UNSPSC codes")
    return codes


def _delivery_countries(tender: Mapping[str, Any], notes: list[str]) -> list[str]:
    # items[].deliveryAddress comes from the OCDS Location extension; core 1.1 has no field
    # for where goods go.
    countries: list[str] = []
    for item in _objects(tender.get("items")):
        name = _text(_obj(item.get("deliveryAddress")).get("countryName"))
        if name is not None:
            code = _alpha3(name, "delivery country", notes)
            if code is not None:
                countries.append(code)
    return list(dict.fromkeys(countries))


def _beneficiary_countries(release: Mapping[str, Any], notes: list[str]) -> list[str]:
    tender = _obj(release.get("tender"))
    countries = _delivery_countries(tender, notes)
    if countries:
        return countries
    for what, party in (
        ("buyer", _buyer(release)),
        ("procuring entity", _procuring_entity(release)),
    ):
        name = _country_of(party)
        if name is None:
            continue
        code = _alpha3(name, f"the {what}'s country", notes)
        if code is not None:
            notes.append(f"beneficiary country taken from the {what}'s address ({name[:100]})")
            return [code]
    notes.append("no delivery or buyer country: imported for multiple or unspecified countries")
    return []


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:  # e.g. an unclosed IPv6 host
        return ""


def _document(raw: Mapping[str, Any], notes: list[str]) -> NoticeDocument | None:
    url = _text(raw.get("url"))
    label = _text(raw.get("id")) or "?"
    if url is None or _scheme(url) not in ("http", "https"):
        notes.append(f"document {label[:50]!r} has no http(s) url; dropped")
        return None
    title_source = _text(raw.get("title")) or _text(raw.get("description")) or f"Document {label}"
    title, changed = plain_line(title_source, "document title", max_length=500)
    notes.extend(changed)
    try:
        return NoticeDocument.model_validate({"title": title or f"Document {label}", "url": url})
    except ValidationError:
        notes.append(f"document {label[:50]!r} has a url that is not valid; dropped")
        return None


def _documents(tender: Mapping[str, Any], notes: list[str]) -> list[NoticeDocument]:
    documents: dict[str, NoticeDocument] = {}
    for raw in _objects(tender.get("documents")):
        if _text(raw.get("documentType")) == vocabulary.CANCELLATION_DETAILS:
            continue  # the reasons for a cancellation, not a document for bidders
        document = _document(raw, notes)
        if document is not None:
            documents.setdefault(str(document.url), document)
    found = list(documents.values())
    if len(found) > MAX_DOCUMENTS:
        notes.append(f"{len(found)} documents; only the first {MAX_DOCUMENTS} imported")
    return found[:MAX_DOCUMENTS]


def _region(party: Mapping[str, Any]) -> str | None:
    """The party's country as ISO 3166 alpha-2, for reading its national phone numbers."""
    name = _country_of(party)
    if name is None:
        return None
    try:
        country = pycountry.countries.get(alpha_3=to_alpha3(name))
    except ValueError:
        return None
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


def _contact(party: Mapping[str, Any], notes: list[str]) -> NoticeContact | None:
    point = _obj(party.get("contactPoint"))
    if not point:
        return None
    name_source = _text(point.get("name")) or _text(party.get("name"))
    if name_source is None:
        return None
    name, changed = plain_line(name_source, "contact name", max_length=200)
    notes.extend(changed)
    fields: dict[str, str] = {"name": name}
    email = _text(point.get("email"))
    if email is not None:
        checked = _contact_detail(email, "e-mail", check_email, notes)
        if checked is not None:
            fields["email"] = checked
    phone = _text(point.get("telephone"))
    if phone is not None:
        region = _region(party)
        # Publishers write their own country's numbers nationally ("01234 345 346").
        checked = _contact_detail(phone, "phone", lambda v: check_phone(v, region), notes)
        if checked is not None:
            fields["phone"] = checked
    try:
        return NoticeContact.model_validate(fields)
    except ValidationError:
        return None


def _contacts(release: Mapping[str, Any], notes: list[str]) -> list[NoticeContact]:
    contacts: list[NoticeContact] = []
    entity, buyer = _procuring_entity(release), _buyer(release)
    # Usually one party plays both roles; read it once, so its notes appear once.
    for party in (entity,) if buyer is entity else (entity, buyer):
        contact = _contact(party, notes)
        if contact is not None and contact not in contacts:
            contacts.append(contact)
    return contacts[:MAX_CONTACTS]


# --- steps ------------------------------------------------------------------------------------


def _common(header: ReleaseHeader, notes: list[str]) -> dict[str, Any]:
    return {
        "release_id": header.release_id,
        "ocid": header.ocid,
        "date": header.date,
        "notes": tuple(notes),
    }


def _amendment_reason(release: Mapping[str, Any], header: ReleaseHeader, notes: list[str]) -> str:
    amendments = _objects(_obj(release.get("tender")).get("amendments"))
    # The amendment this release made, if it says which; else the latest one listed.
    own = [a for a in amendments if _text(a.get("releaseID")) == header.release_id]
    for amendment in own or amendments[-1:]:
        text = _text(amendment.get("rationale")) or _text(amendment.get("description"))
        if text is not None:
            reason, changed = plain_paragraphs(text, "amendment rationale", max_length=2000)
            notes.extend(changed)
            if reason:
                return reason
    return f"Updated by OCDS release {header.release_id}"


def _publish(release: Mapping[str, Any], header: ReleaseHeader) -> PublishStep:
    tender = _obj(release.get("tender"))
    if not tender:
        raise ReleaseError("the release is tagged tender but has no tender object")
    notes: list[str] = []
    deadline = _deadline(tender, notes)
    if deadline is None:
        raise ReleaseError("tender.tenderPeriod.endDate is missing; a notice needs a deadline")
    data = {
        "reference": header.ocid,
        "title": _required_line(tender, "title", notes, 500),
        "description": _description(tender, notes),
        "language": _language(release, notes),
        "notice_type": _notice_type(tender, notes),
        "unspsc_codes": _unspsc_codes(tender, notes),
        "beneficiary_countries": _beneficiary_countries(release, notes),
        "deadline": deadline,
        "documents": _documents(tender, notes),
        "contacts": _contacts(release, notes),
    }
    reason = _amendment_reason(release, header, notes)
    draft = NoticeDraft.model_validate(data, context=IMPORT_CONTEXT)
    return PublishStep(**_common(header, notes), draft=draft, amendment_reason=reason)


def _amend(release: Mapping[str, Any], header: ReleaseHeader, tag: str) -> AmendStep | SkipStep:
    """Only what the release carries: an update may repeat the whole tender or just one field."""
    tender = _obj(release.get("tender"))
    notes: list[str] = []
    fields: dict[str, Any] = {}
    if "title" in tender:
        fields["title"] = _required_line(tender, "title", notes, 500)
    if "description" in tender:
        fields["description"] = _description(tender, notes)
    if "procurementMethod" in tender or "procurementMethodDetails" in tender:
        fields["notice_type"] = _notice_type(tender, notes)
    if "items" in tender:
        codes = _unspsc_codes(tender, [])  # only the codes; no codes leaves the notice's own
        if codes:
            fields["unspsc_codes"] = codes
        countries = _delivery_countries(tender, notes)
        if countries:
            fields["beneficiary_countries"] = countries
    deadline = _deadline(tender, notes)
    if deadline is not None:
        fields["deadline"] = deadline
    if "documents" in tender:
        fields["documents"] = _documents(tender, notes)
    contacts = _contacts(release, notes)
    if contacts:
        fields["contacts"] = contacts
    if not fields:
        reason = "it carries none of the fields a notice records"
        return SkipStep(**_common(header, notes), tag=tag, reason=reason)
    fields["reason"] = _amendment_reason(release, header, notes)
    proposed = Amendment.model_validate(fields, context=IMPORT_CONTEXT)
    return AmendStep(**_common(header, notes), proposed=proposed)


def _cancellation_reason(
    release: Mapping[str, Any], header: ReleaseHeader, notes: list[str]
) -> str:
    tender = _obj(release.get("tender"))
    candidates: list[object] = [tender.get("statusDetails")]
    for document in _objects(tender.get("documents")):
        if _text(document.get("documentType")) == vocabulary.CANCELLATION_DETAILS:
            candidates += [document.get("description"), document.get("title")]
    for amendment in reversed(_objects(tender.get("amendments"))):
        candidates += [amendment.get("rationale"), amendment.get("description")]
    for candidate in candidates:
        text = _text(candidate)
        if text is not None:
            reason, changed = plain_paragraphs(text, "cancellation reason", max_length=2000)
            if reason:
                notes.extend(changed)
                return reason
    notes.append("the release gives no reason for the cancellation")
    return f"Cancelled, as published in OCDS release {header.release_id}"


def _cancel(release: Mapping[str, Any], header: ReleaseHeader) -> CancelStep:
    notes: list[str] = []
    reason = Cancellation(reason=_cancellation_reason(release, header, notes)).reason
    return CancelStep(**_common(header, notes), reason=reason)


def _amount(value: Mapping[str, Any], where: str, notes: list[str]) -> Decimal:
    raw = value.get("amount")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ReleaseError(f"{where}.value.amount is missing or not a number")
    try:
        amount = Decimal(str(raw))
    except InvalidOperation as exc:
        raise ReleaseError(f"{where}.value.amount is not a number") from exc
    if not amount.is_finite():
        raise ReleaseError(f"{where}.value.amount is not a finite number")
    try:
        cents = amount.quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ReleaseError(f"{where}.value.amount is too large") from exc
    if cents != amount:
        notes.append(f"award amount {raw} rounded to {cents}")
    return cents


def _supplier_country(
    release: Mapping[str, Any], supplier: Mapping[str, Any], name: str, notes: list[str]
) -> str:
    party = _party(release, supplier, None)
    if party is supplier:  # no party with that id: try the name
        by_name = [p for p in _objects(release.get("parties")) if _text(p.get("name")) == name]
        party = by_name[0] if by_name else supplier
    country = _country_of(party)
    if country is not None:
        code = _alpha3(country, "the supplier's country", notes)
        if code is not None:
            return code
    buyer_country = _country_of(_buyer(release))
    if buyer_country is not None:
        code = _alpha3(buyer_country, "the buyer's country", notes)
        if code is not None:
            notes.append(f"supplier country not given; the buyer's ({buyer_country[:100]}) used")
            return code
    raise ReleaseError("the supplier's country is not given, nor the buyer's")


def _award_date(award: Mapping[str, Any], header: ReleaseHeader, notes: list[str]) -> date:
    moment, _ = parse_datetime(award.get("date"))
    if moment is None:
        notes.append("the award has no date; the release date is used")
        return header.date.date()
    return moment.date()


def _award(release: Mapping[str, Any], header: ReleaseHeader, tag: str) -> AwardStep | SkipStep:
    notes: list[str] = []
    awards = _objects(release.get("awards"))
    made = [a for a in awards if _text(a.get("status")) not in vocabulary.NO_AWARD_STATUSES]
    if not made:
        reason = "no award in it is pending or active" if awards else "it has no awards"
        return SkipStep(**_common(header, notes), tag=tag, reason=reason)
    award = made[0]
    where = f"awards[{awards.index(award)}]"
    if len(made) > 1:
        notes.append(f"{len(made)} awards; a notice records one, so only {where} is imported")
    if _text(award.get("status")) == "pending":
        notes.append("the award is pending in the source: proposed, not yet in force")
    suppliers = _objects(award.get("suppliers"))
    if not suppliers:
        raise ReleaseError(f"{where}.suppliers is empty; an award needs a supplier")
    if len(suppliers) > 1:
        notes.append(f"{len(suppliers)} suppliers share the award; the first is recorded")
    supplier = suppliers[0]
    name_source = _text(supplier.get("name")) or _text(_party(release, supplier, None).get("name"))
    if name_source is None:
        raise ReleaseError(f"{where}.suppliers[0] has no name")
    name, changed = plain_line(name_source, "supplier name", max_length=300)
    notes.extend(changed)
    value = _obj(award.get("value"))
    decision = AwardDecision.model_validate(
        {
            "supplier_name": name,
            "supplier_country": _supplier_country(release, supplier, name_source, notes),
            "amount": _amount(value, where, notes),
            "currency": _text(value.get("currency")) or "",
            "date": _award_date(award, header, notes),
        }
    )
    return AwardStep(**_common(header, notes), decision=decision)


def _not_imported(header: ReleaseHeader, tag: str) -> SkipStep:
    if tag in standard.codelist("releaseTag"):
        reason = "Tenderwire imports tenders, their amendments, cancellations and awards only"
    else:
        reason = "it is not an OCDS 1.1 release tag"
    return SkipStep(**_common(header, []), tag=tag, reason=reason)


def _order(step: ImportStep) -> int:
    # The lifecycle order, whatever order the tags were listed in.
    kinds: Sequence[type[Step]] = (SkipStep, PublishStep, AmendStep, CancelStep, AwardStep)
    return next(i for i, kind in enumerate(kinds) if isinstance(step, kind))


def plan(header: ReleaseHeader, release: Mapping[str, Any]) -> list[ImportStep]:
    """The steps for one release, in lifecycle order. Raises ReleaseError or pydantic's
    ValidationError when the release cannot be imported at all."""
    steps: list[ImportStep] = []
    tags = header.tags
    for tag in tags:
        if tag == vocabulary.TENDER_TAG:
            steps.append(_publish(release, header))
        elif tag in vocabulary.AMENDING_TAGS:
            if vocabulary.TENDER_TAG in tags or tag != _first(tags, vocabulary.AMENDING_TAGS):
                why = "the release's tender data is applied once, for its first tender tag"
                steps.append(SkipStep(**_common(header, []), tag=tag, reason=why))
            else:
                steps.append(_amend(release, header, tag))
        elif tag == vocabulary.CANCELLING_TAG:
            steps.append(_cancel(release, header))
        elif tag in vocabulary.AWARDING_TAGS:
            if tag != _first(tags, vocabulary.AWARDING_TAGS):
                why = "the release's award is applied once, for its first award tag"
                steps.append(SkipStep(**_common(header, []), tag=tag, reason=why))
            else:
                steps.append(_award(release, header, tag))
        else:
            steps.append(_not_imported(header, tag))
    return sorted(steps, key=_order)


def _first(tags: tuple[str, ...], among: tuple[str, ...]) -> str | None:
    return next((t for t in tags if t in among), None)


# --- a release against a notice already imported ----------------------------------------------

# Lists merged the way OCDS merges arrays of objects with ids: entries are added or updated,
# never removed, so an update that lists one new document does not drop the others.
_MERGED: dict[str, Callable[[Any], str]] = {
    "unspsc_codes": lambda code: code,
    "beneficiary_countries": lambda country: country,
    "documents": lambda document: str(document["url"]),
}
_MODEL_LISTS = ("documents", "contacts")


def _plain(values: Sequence[Any]) -> list[Any]:
    # The notice holds the event models, the amendment the input models; what they say is
    # what compares, and what the amendment is built from.
    return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in values]


def as_amendment(step: PublishStep) -> Amendment:
    """A "tender" release for an ocid already imported: its data as a proposed amendment."""
    draft = step.draft
    fields: dict[str, Any] = {
        "reason": step.amendment_reason,
        "title": draft.title,
        "description": draft.description,
        "notice_type": draft.notice_type,
        "deadline": draft.deadline,
        "documents": draft.documents,
    }
    # Empty lists here mean "the release did not say"; they must not clear the notice's own.
    for name in ("unspsc_codes", "beneficiary_countries", "contacts"):
        if getattr(draft, name):
            fields[name] = getattr(draft, name)
    return Amendment.model_validate(fields, context=IMPORT_CONTEXT)


def _merged(name: str, before: Sequence[Any], proposed: Sequence[Any]) -> list[Any]:
    identity = _MERGED[name]
    merged = {identity(v): v for v in before}
    merged.update((identity(v), v) for v in proposed)
    return list(merged.values())


def amendment_against(current: TenderSnapshot, proposed: Amendment) -> Amendment | None:
    """Only what differs from the notice as it stands, or None when nothing does."""
    changes: dict[str, Any] = {}
    for name in sorted(proposed.model_fields_set - {"reason"}):
        new = getattr(proposed, name)
        before = getattr(current, name)
        if name in _MODEL_LISTS:
            new, before = _plain(new), _plain(before)
        if name in _MERGED:
            new = _merged(name, before, new)
        if isinstance(before, tuple):
            before = list(before)
        if new != before:  # aware datetimes compare as instants, whatever their offsets
            changes[name] = new
    if not changes:
        return None
    if len(changes.get("documents", ())) > MAX_DOCUMENTS:
        changes["documents"] = changes["documents"][:MAX_DOCUMENTS]
    if len(changes.get("unspsc_codes", ())) > MAX_CODES:
        changes["unspsc_codes"] = changes["unspsc_codes"][:MAX_CODES]
    return Amendment.model_validate({"reason": proposed.reason, **changes}, context=IMPORT_CONTEXT)
