"""A notice's revision history as OCDS 1.1 releases, a release package and a record. Pure.

One release per revision: the notice's state after that event, tagged for the event (see
vocabulary.RELEASE_TAG). The record's compiled release merges them as OCDS merging says:
latest value wins, arrays of objects merge by `id`, other arrays are replaced whole.

The buyer is the agency, unless the notice was imported from releases that name their own
buyer (`imported_buyer`, as parties.buyer_to_keep keeps it): then that buyer is the release's
`buyer` and a party with role "buyer", and the agency stays the procuring entity.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NamedTuple

import pycountry

from tenderwire_notices.domain import AMENDABLE, what_changed
from tenderwire_notices.ocds import standard, vocabulary
from tenderwire_shared.events.tenders import TENDER_CANCELLED, Award, Contact, TenderSnapshot

_OMIT_WHEN_MERGED = ("id", "date", "tag")


class RevisionEntry(NamedTuple):
    """One row of the notice's revision history, its snapshot parsed."""

    revision: int
    event_type: str
    reason: str | None
    snapshot: TenderSnapshot
    occurred_at: datetime


def ocid_of(tender: TenderSnapshot) -> str:
    """An imported notice keeps its publisher's ocid; others get one under our prefix."""
    return tender.ocid or f"{vocabulary.OCID_PREFIX}-{tender.tender_id}"


def release_id(ocid: str, revision: int) -> str:
    return f"{ocid}-{revision:04d}"


def _date_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.utcoffset() == timedelta(0):
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return moment.isoformat()


def _number(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _short_id(*parts: str) -> str:
    # Stable across releases, so OCDS merging matches the same document or supplier by id.
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _buyer_id(tender: TenderSnapshot) -> str:
    return f"TW-AGENCY-{tender.agency}"


def _contact_point(contact: Contact) -> dict[str, Any]:
    point: dict[str, Any] = {"name": contact.name}
    if contact.email:
        point["email"] = contact.email
    if contact.phone:
        point["telephone"] = contact.phone
    return point


def _buyer_party(
    tender: TenderSnapshot, buyer_name: str | None, *, also_buyer: bool = True
) -> dict[str, Any]:
    party: dict[str, Any] = {
        "id": _buyer_id(tender),
        "name": buyer_name or tender.agency,
        "roles": ["buyer", "procuringEntity"] if also_buyer else ["procuringEntity"],
    }
    if tender.contacts:
        # OCDS has one contact point per party; the first contact is the agency's main one.
        party["contactPoint"] = _contact_point(tender.contacts[0])
    return party


def _imported_buyer_party(
    tender: TenderSnapshot, imported: Mapping[str, Any], taken: set[str]
) -> dict[str, Any]:
    """The publisher's buyer as a party: its own id, unless it has none or another party of
    the release has it, then one of ours from its name."""
    name = str(imported["name"])
    own_id = imported.get("id")
    party_id = (
        str(own_id)
        if isinstance(own_id, str) and own_id not in taken
        else f"TW-BUYER-{_short_id(tender.agency, name)}"
    )
    party: dict[str, Any] = {"id": party_id, "name": name, "roles": ["buyer"]}
    for block in ("identifier", "address", "contactPoint"):
        if imported.get(block):
            party[block] = dict(imported[block])
    return party


def _country_name(alpha3: str) -> str:
    country = pycountry.countries.get(alpha_3=alpha3)
    return str(country.name) if country is not None else alpha3


def _supplier_id(award: Award) -> str:
    return f"TW-SUPPLIER-{_short_id(award.supplier_name, award.supplier_country)}"


def _supplier_party(award: Award) -> dict[str, Any]:
    return {
        "id": _supplier_id(award),
        "name": award.supplier_name,
        "roles": ["supplier"],
        "address": {"countryName": _country_name(award.supplier_country)},
    }


def _award(ocid: str, award: Award) -> dict[str, Any]:
    return {
        "id": f"{ocid}-award",
        "status": "active",
        "date": f"{award.date.isoformat()}T00:00:00Z",
        "value": {"amount": _number(award.amount), "currency": award.currency},
        "suppliers": [{"id": _supplier_id(award), "name": award.supplier_name}],
    }


def _deadline(tender: TenderSnapshot) -> str:
    # In the agency's own offset, as it was written; the instant is the same.
    offset = timezone(timedelta(minutes=tender.deadline_utc_offset_minutes))
    return _date_time(tender.deadline.astimezone(offset))


def _documents(entry: RevisionEntry) -> list[dict[str, Any]]:
    tender = entry.snapshot
    documents = [
        {"id": f"doc-{_short_id(str(d.url))}", "title": d.title, "url": str(d.url)}
        for d in tender.documents
    ]
    reason = tender.cancellation_reason or (
        entry.reason if entry.event_type == TENDER_CANCELLED else None
    )
    if reason:
        # Core OCDS 1.1 has no field for why a tender was cancelled; documentType
        # cancellationDetails is the codelist's place for it.
        documents.append(
            {
                "id": "cancellation",
                "documentType": vocabulary.CANCELLATION_DETAILS,
                "title": "Reasons for cancellation",
                "description": reason,
            }
        )
    return documents


def _changed_fields(before: TenderSnapshot, after: TenderSnapshot) -> list[str]:
    """The fields an amendment changed, named in the exported amendment's description."""
    proposed = {field: getattr(after, field) for field in AMENDABLE}
    return [change.field for change in what_changed(before, proposed)]


def _tender_period(t: TenderSnapshot) -> dict[str, str]:
    """From publication to the deadline. A notice imported after its deadline had passed was
    published here later than it closed: its start is not known, so none is given rather than
    one after the end."""
    period = {"endDate": _deadline(t)}
    if t.published_at <= t.deadline:
        period = {"startDate": _date_time(t.published_at), **period}
    return period


def _tender(
    entry: RevisionEntry, amendments: list[dict[str, Any]], organisation: dict[str, Any]
) -> dict[str, Any]:
    t = entry.snapshot
    tender: dict[str, Any] = {
        "id": t.tender_id,
        "title": t.title,
        "status": vocabulary.TENDER_STATUS[t.status],
        "procuringEntity": dict(organisation),
        "procurementMethodDetails": vocabulary.NOTICE_TYPE_LABELS[t.notice_type],
        "tenderPeriod": _tender_period(t),
    }
    if t.description:
        tender["description"] = t.description
    if t.unspsc_codes:
        tender["items"] = [
            {"id": code, "classification": {"scheme": "UNSPSC", "id": code}}
            for code in t.unspsc_codes
        ]
    documents = _documents(entry)
    if documents:
        tender["documents"] = documents
    if amendments:
        tender["amendments"] = list(amendments)
    return tender


def releases(
    revisions: Sequence[RevisionEntry],
    *,
    buyer_name: str | None = None,
    imported_buyer: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One release per revision, oldest first. `buyer_name` is the agency's name;
    `imported_buyer` the buyer an imported notice's releases named, if any."""
    if not revisions:
        raise ValueError("a notice has at least one revision")
    ordered = sorted(revisions, key=lambda r: r.revision)
    ocid = ocid_of(ordered[-1].snapshot)
    amendments: list[dict[str, Any]] = []
    result: list[dict[str, Any]] = []
    previous: RevisionEntry | None = None
    imported_party = None
    if imported_buyer is not None:
        # One id in every release, so the compiled release merges them into one buyer.
        taken = {_buyer_id(e.snapshot) for e in ordered} | {
            _supplier_id(e.snapshot.award) for e in ordered if e.snapshot.award is not None
        }
        imported_party = _imported_buyer_party(ordered[-1].snapshot, imported_buyer, taken)
    for entry in ordered:
        t = entry.snapshot
        this_id = release_id(ocid, entry.revision)
        # An event type this exporter does not know yet still changed the tender.
        tag = (
            "tender"
            if previous is None
            else vocabulary.RELEASE_TAG.get(entry.event_type, "tenderUpdate")
        )
        if tag == "tenderAmendment" and previous is not None:
            changed = _changed_fields(previous.snapshot, t)
            amendment: dict[str, Any] = {
                "id": str(entry.revision),
                "date": _date_time(entry.occurred_at),
                "amendsReleaseID": release_id(ocid, previous.revision),
                "releaseID": this_id,
            }
            if entry.reason:
                amendment["rationale"] = entry.reason
            if changed:
                amendment["description"] = f"Changed: {', '.join(changed)}"
            amendments.append(amendment)
        agency = _buyer_party(t, buyer_name, also_buyer=imported_buyer is None)
        entity = {"id": agency["id"], "name": agency["name"]}
        parties = [agency]
        if t.award is not None:
            parties.append(_supplier_party(t.award))
        buyer = entity
        if imported_party is not None:
            parties.insert(1, copy.deepcopy(imported_party))
            buyer = {"id": imported_party["id"], "name": imported_party["name"]}
        release: dict[str, Any] = {
            "ocid": ocid,
            "id": this_id,
            "date": _date_time(entry.occurred_at),
            "tag": [tag],
            "initiationType": "tender",
            "language": t.language,
            "parties": parties,
            "buyer": buyer,
            "tender": _tender(entry, amendments, entity),
        }
        if t.award is not None:
            release["awards"] = [_award(ocid, t.award)]
        result.append(release)
        previous = entry
    return result


def release_package(
    revisions: Sequence[RevisionEntry],
    *,
    publisher_name: str,
    uri: str,
    buyer_name: str | None = None,
    imported_buyer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    exported = releases(revisions, buyer_name=buyer_name, imported_buyer=imported_buyer)
    return {
        "uri": uri,
        "version": standard.VERSION,
        # Generated on demand: the date of the last change, as the schema asks.
        "publishedDate": exported[-1]["date"],
        "publisher": {"name": publisher_name},
        "releases": exported,
    }


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if value is None:
            target.pop(key, None)  # OCDS: null removes the field
        elif isinstance(value, dict):
            existing = target.get(key)
            if isinstance(existing, dict):
                _merge(existing, value)
            else:
                target[key] = copy.deepcopy(value)
        elif _identified_objects(value) and _identified_objects(target.get(key)):
            by_id = {item["id"]: item for item in target[key]}
            for item in value:
                if item["id"] in by_id:
                    _merge(by_id[item["id"]], item)
                else:
                    target[key].append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _identified_objects(value: object) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "id" in item for item in value)
    )


def compiled_release(releases_in_order: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The releases of one ocid merged, oldest first, into the state after the last."""
    if not releases_in_order:
        raise ValueError("nothing to compile")
    merged: dict[str, Any] = {}
    for release in releases_in_order:
        _merge(merged, {k: v for k, v in release.items() if k not in _OMIT_WHEN_MERGED})
    last = releases_in_order[-1]
    return {
        "ocid": last["ocid"],
        "id": f"{last['ocid']}-{last['date']}",
        "date": last["date"],
        "tag": ["compiled"],
        **{k: v for k, v in merged.items() if k != "ocid"},
    }


def record(
    revisions: Sequence[RevisionEntry],
    *,
    package_uri: str,
    buyer_name: str | None = None,
    imported_buyer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The notice's record: its releases, linked into the release package, and the compiled
    release. `package_uri` is where the release package is served."""
    exported = releases(revisions, buyer_name=buyer_name, imported_buyer=imported_buyer)
    return {
        "ocid": exported[0]["ocid"],
        "releases": [
            {"url": f"{package_uri}#{r['id']}", "date": r["date"], "tag": r["tag"]}
            for r in exported
        ],
        "compiledRelease": compiled_release(exported),
    }


def record_package(
    revisions: Sequence[RevisionEntry],
    *,
    publisher_name: str,
    uri: str,
    package_uri: str,
    buyer_name: str | None = None,
    imported_buyer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A record package with the notice's one record, as OCDS publishes records."""
    the_record = record(
        revisions, package_uri=package_uri, buyer_name=buyer_name, imported_buyer=imported_buyer
    )
    return {
        "uri": uri,
        "version": standard.VERSION,
        "publishedDate": the_record["compiledRelease"]["date"],
        "publisher": {"name": publisher_name},
        "packages": [package_uri],
        "records": [the_record],
    }
