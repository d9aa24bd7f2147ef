"""A release against a notice already imported: only what differs becomes an amendment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from tenderwire_notices.domain import what_changed
from tenderwire_notices.ocds.fields import MAX_CLASSIFICATIONS, MAX_CODES, MAX_DOCUMENTS
from tenderwire_notices.ocds.release import IMPORT_CONTEXT, PublishStep
from tenderwire_notices.schemas import Amendment
from tenderwire_shared.events.tenders import TenderSnapshot

# Lists merged the way OCDS merges arrays of objects with ids: entries are added or updated,
# never removed, so an update that lists one new document does not drop the others.
_MERGED: dict[str, Callable[[Any], str]] = {
    "unspsc_codes": lambda code: code,
    "cpv_codes": lambda code: code,
    "classifications": lambda c: f"{c.scheme.upper()}\n{c.code}",
    "beneficiary_countries": lambda country: country,
    "documents": lambda document: str(document.url),
}


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
    for name in (
        "unspsc_codes",
        "cpv_codes",
        "classifications",
        "beneficiary_countries",
        "contacts",
    ):
        if getattr(draft, name):
            fields[name] = getattr(draft, name)
    return Amendment.model_validate(fields, context=IMPORT_CONTEXT)


def _merged(name: str, before: Sequence[Any], proposed: Sequence[Any]) -> tuple[Any, ...]:
    identity = _MERGED[name]
    merged = {identity(v): v for v in before}
    merged.update((identity(v), v) for v in proposed)
    return tuple(merged.values())


def _plain(value: Any) -> Any:
    # The notice's values hold the event models; the amendment is built from what they say.
    if isinstance(value, tuple):
        return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    return value


def amendment_against(current: TenderSnapshot, proposed: Amendment) -> Amendment | None:
    """Only what differs from the notice as it stands, or None when nothing does. What differs
    is `domain.what_changed`'s to say, as for every amendment."""
    values = proposed.proposed()
    for name in values.keys() & _MERGED.keys():
        values[name] = _merged(name, getattr(current, name), values[name])
    changes = {change.field: values[change.field] for change in what_changed(current, values)}
    if not changes:
        return None
    if len(changes.get("documents", ())) > MAX_DOCUMENTS:
        changes["documents"] = changes["documents"][:MAX_DOCUMENTS]
    for name in ("unspsc_codes", "cpv_codes"):
        if len(changes.get(name, ())) > MAX_CODES:
            changes[name] = changes[name][:MAX_CODES]
    if len(changes.get("classifications", ())) > MAX_CLASSIFICATIONS:
        changes["classifications"] = changes["classifications"][:MAX_CLASSIFICATIONS]
    plain = {name: _plain(value) for name, value in changes.items()}
    return Amendment.model_validate({"reason": proposed.reason, **plain}, context=IMPORT_CONTEXT)
