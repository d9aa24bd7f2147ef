"""One release -> the lifecycle steps it asks for, in lifecycle order (`plan`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from tenderwire_notices.ocds import fields, parties, standard, vocabulary
from tenderwire_notices.ocds.plain_text import plain_line, plain_paragraphs
from tenderwire_notices.ocds.release import (
    IMPORT_CONTEXT,
    AmendStep,
    AwardStep,
    CancelStep,
    ImportStep,
    PublishStep,
    ReleaseError,
    ReleaseHeader,
    SkipStep,
    Step,
)
from tenderwire_notices.ocds.untrusted import as_object, as_text, objects_in, parse_datetime
from tenderwire_notices.schemas import Amendment, AwardDecision, Cancellation, NoticeDraft
from tenderwire_shared.api_errors import plain_msg


def _common(header: ReleaseHeader, notes: list[str]) -> dict[str, Any]:
    return {
        "release_id": header.release_id,
        "ocid": header.ocid,
        "date": header.date,
        "notes": tuple(notes),
    }


def _amendment_reason(release: Mapping[str, Any], header: ReleaseHeader, notes: list[str]) -> str:
    amendments = objects_in(as_object(release.get("tender")).get("amendments"))
    # The amendment this release made, if it says which; else the latest one listed.
    own = [a for a in amendments if as_text(a.get("releaseID")) == header.release_id]
    for amendment in own or amendments[-1:]:
        text = as_text(amendment.get("rationale")) or as_text(amendment.get("description"))
        if text is not None:
            reason, changed = plain_paragraphs(text, "amendment rationale", max_length=2000)
            notes.extend(changed)
            if reason:
                return reason
    return f"Updated by OCDS release {header.release_id}"


def _publish(release: Mapping[str, Any], header: ReleaseHeader) -> PublishStep:
    tender = as_object(release.get("tender"))
    if not tender:
        raise ReleaseError("the release is tagged tender but has no tender object")
    notes: list[str] = []
    deadline = fields.deadline(tender, notes)
    if deadline is None:
        raise ReleaseError("tender.tenderPeriod.endDate is missing; a notice needs a deadline")
    data = {
        "reference": header.ocid,
        "title": fields.required_line(tender, "title", notes, 500),
        "description": fields.description(tender, notes),
        "language": fields.language(release, notes),
        "notice_type": fields.notice_type(tender, notes),
        "unspsc_codes": fields.unspsc_codes(tender, notes),
        "cpv_codes": fields.cpv_codes(tender, notes),
        "classifications": fields.classifications(tender, notes),
        "beneficiary_countries": fields.beneficiary_countries(release, notes),
        "deadline": deadline,
        "documents": fields.documents(tender, notes),
        "contacts": fields.contacts(release, notes),
    }
    reason = _amendment_reason(release, header, notes)
    draft = NoticeDraft.model_validate(data, context=IMPORT_CONTEXT)
    return PublishStep(**_common(header, notes), draft=draft, amendment_reason=reason)


def _amend(release: Mapping[str, Any], header: ReleaseHeader, tag: str) -> AmendStep | SkipStep:
    """Only what the release carries: an update may repeat the whole tender or just one field."""
    tender = as_object(release.get("tender"))
    notes: list[str] = []
    carried: dict[str, Any] = {}
    if "title" in tender:
        carried["title"] = fields.required_line(tender, "title", notes, 500)
    if "description" in tender:
        carried["description"] = fields.description(tender, notes)
    if "procurementMethod" in tender or "procurementMethodDetails" in tender:
        carried["notice_type"] = fields.notice_type(tender, notes)
    if "items" in tender:
        codes = fields.unspsc_codes(tender, [])  # only the codes; no codes leaves the notice's own
        if codes:
            carried["unspsc_codes"] = codes
        cpv_codes = fields.cpv_codes(tender, [])
        if cpv_codes:
            carried["cpv_codes"] = cpv_codes
        classifications = fields.classifications(tender, notes)
        if classifications:
            carried["classifications"] = classifications
        countries = fields.delivery_countries(tender, notes, parties.language_of(release))
        if countries:
            carried["beneficiary_countries"] = countries
    deadline = fields.deadline(tender, notes)
    if deadline is not None:
        carried["deadline"] = deadline
    if "documents" in tender:
        carried["documents"] = fields.documents(tender, notes)
    contacts = fields.contacts(release, notes)
    if contacts:
        carried["contacts"] = contacts
    if not carried:
        reason = "it carries none of the fields a notice records"
        return SkipStep(**_common(header, notes), tag=tag, reason=reason)
    carried["reason"] = _amendment_reason(release, header, notes)
    proposed = Amendment.model_validate(carried, context=IMPORT_CONTEXT)
    return AmendStep(**_common(header, notes), proposed=proposed)


def _cancellation_reason(
    release: Mapping[str, Any], header: ReleaseHeader, notes: list[str]
) -> str:
    tender = as_object(release.get("tender"))
    candidates: list[object] = [tender.get("statusDetails")]
    for document in objects_in(tender.get("documents")):
        if as_text(document.get("documentType")) == vocabulary.CANCELLATION_DETAILS:
            candidates += [document.get("description"), document.get("title")]
    for amendment in reversed(objects_in(tender.get("amendments"))):
        candidates += [amendment.get("rationale"), amendment.get("description")]
    for candidate in candidates:
        text = as_text(candidate)
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
    party = parties.party(release, supplier, None)
    if party is supplier:  # no party with that id: try the name
        by_name = [p for p in objects_in(release.get("parties")) if as_text(p.get("name")) == name]
        party = by_name[0] if by_name else supplier
    language = parties.language_of(release)
    country = parties.country_of(party)
    if country is not None:
        code = parties.alpha3(country, "the supplier's country", notes, language)
        if code is not None:
            return code
    buyer_country = parties.country_of(parties.buyer(release))
    if buyer_country is not None:
        code = parties.alpha3(buyer_country, "the buyer's country", notes, language)
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
    awards = objects_in(release.get("awards"))
    made = [a for a in awards if as_text(a.get("status")) not in vocabulary.NO_AWARD_STATUSES]
    if not made:
        reason = "no award in it is pending or active" if awards else "it has no awards"
        return SkipStep(**_common(header, notes), tag=tag, reason=reason)
    award = made[0]
    where = f"awards[{awards.index(award)}]"
    if len(made) > 1:
        notes.append(f"{len(made)} awards; a notice records one, so only {where} is imported")
    if as_text(award.get("status")) == "pending":
        notes.append("the award is pending in the source: proposed, not yet in force")
    suppliers = objects_in(award.get("suppliers"))
    if not suppliers:
        raise ReleaseError(f"{where}.suppliers is empty; an award needs a supplier")
    if len(suppliers) > 1:
        notes.append(f"{len(suppliers)} suppliers share the award; the first is recorded")
    supplier = suppliers[0]
    name_source = as_text(supplier.get("name")) or as_text(
        parties.party(release, supplier, None).get("name")
    )
    if name_source is None:
        raise ReleaseError(f"{where}.suppliers[0] has no name")
    name, changed = plain_line(name_source, "supplier name", max_length=300)
    notes.extend(changed)
    value = as_object(award.get("value"))
    decision = AwardDecision.model_validate(
        {
            "supplier_name": name,
            "supplier_country": _supplier_country(release, supplier, name_source, notes),
            "amount": _amount(value, where, notes),
            "currency": as_text(value.get("currency")) or "",
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
    ValidationError when the release cannot be imported at all: an award that cannot be read
    fails the release only when nothing else in it can be applied."""
    steps: list[ImportStep] = []
    unreadable: tuple[str, Exception] | None = None  # an award that could not be read
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
                try:
                    steps.append(_award(release, header, tag))
                except (ReleaseError, ValidationError) as error:
                    unreadable = (tag, error)
        else:
            steps.append(_not_imported(header, tag))
    if unreadable is not None:
        steps.append(_unreadable_award(header, steps, *unreadable))
    return sorted(steps, key=_order)


def _unreadable_award(
    header: ReleaseHeader, steps: list[ImportStep], tag: str, error: Exception
) -> SkipStep:
    if not any(isinstance(step, PublishStep | AmendStep | CancelStep) for step in steps):
        raise error  # nothing else in the release: it fails, and can be sent again fixed
    # The tender part stands on its own: suppliers can still bid on it.
    why = f"its award could not be read ({_explained(error)}); the rest of the release is"
    return SkipStep(**_common(header, []), tag=tag, reason=f"{why} imported")


def _explained(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {plain_msg(e['msg'])}"
            for e in exc.errors()
        )
    return str(exc)


def _first(tags: tuple[str, ...], among: tuple[str, ...]) -> str | None:
    return next((t for t in tags if t in among), None)
