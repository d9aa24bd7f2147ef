"""Serialises one tender's match events without serialising its snapshot once per supplier.

A tender matching 1,000 suppliers makes 1,000 events that differ only in their ids, the
recipient and the matched codes; building and dumping each as a model costs more than all
of matching's SQL. So one prototype event is dumped per kind, and each supplier's bytes are
the prototype with its own values spliced in where the prototype's stand-ins are. The bytes
are those `model_dump_json` makes (services/matching/tests/test_match_events.py holds that);
when a stand-in is not found exactly once, the slow path makes them instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pydantic_core import to_json

from tenderwire_shared.envelope import Envelope, new_event_id, utc_now
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import FieldChange, TenderSnapshot
from tenderwire_shared.outbox import OutboxRow, headers_column

SOURCE = "tenderwire/matching"

# Parametrising a generic model per event costs more than building the event.
MatchEvent = Envelope[MatchCreated]


@dataclass(frozen=True)
class Cause:
    """Why the alerts are sent: the tender as it now stands, and the event that changed it."""

    tender: TenderSnapshot
    correlation_id: str | None
    causation_id: str | None
    changes: tuple[FieldChange, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class Template:
    """A dumped prototype cut at its stand-ins: parts[0] value parts[1] value ... parts[-1]."""

    parts: tuple[bytes, ...]
    slots: tuple[str, ...]
    headers: str
    prototype_id: str


_STAND_IN_RECIPIENT = Recipient(
    supplier_id="recipient-stand-in",
    legal_name="stand-in",
    email="stand-in@invalid",
    language="en",
    timezone="UTC",
)


@functools.lru_cache(maxsize=65536)
def _dumped(recipient: Recipient) -> bytes:
    # Recipients are frozen and come cached from the registry: most are dumped once.
    return recipient.model_dump_json(serialize_as_any=True).encode()


class MatchEvents:
    """Builds the outbox rows of one tender revision's match events, all with one timestamp:
    they are made together, in one transaction."""

    def __init__(self, cause: Cause) -> None:
        self._cause = cause
        self._time = utc_now()
        self._templates: dict[tuple[MatchKind, bool], Template | None] = {}

    def event(
        self,
        *,
        event_id: str,
        match_id: str,
        kind: MatchKind,
        recipient: Recipient,
        matched_codes: tuple[str, ...],
        still_matches: bool,
    ) -> MatchEvent:
        """The event as a model: what the spliced bytes must equal."""
        c = self._cause
        return MatchEvent(
            id=event_id,
            type=f"match.{kind.value}",
            source=SOURCE,
            subject=recipient.supplier_id,
            time=self._time,
            correlationid=c.correlation_id,
            causationid=c.causation_id,
            data=MatchCreated(
                match_id=match_id,
                kind=kind,
                recipient=recipient,
                tender=c.tender,
                matched_codes=matched_codes,
                changes=c.changes,
                reason=c.reason,
                still_matches=still_matches,
            ),
        )

    def row(
        self,
        *,
        match_id: str,
        kind: MatchKind,
        recipient: Recipient,
        matched_codes: tuple[str, ...],
        still_matches: bool,
    ) -> OutboxRow:
        """The outbox row of one supplier's event, keyed by the supplier."""
        event_id = new_event_id()
        template = self.template(kind, still_matches)
        if template is None:
            event = self.event(
                event_id=event_id,
                match_id=match_id,
                kind=kind,
                recipient=recipient,
                matched_codes=matched_codes,
                still_matches=still_matches,
            )
            return OutboxRow.of(recipient.supplier_id, event)
        values = {
            "id": to_json(event_id),
            "subject": to_json(recipient.supplier_id),
            "match_id": to_json(match_id),
            "recipient": _dumped(recipient),
            "matched_codes": to_json(matched_codes),
        }
        pieces = [template.parts[0]]
        for slot, part in zip(template.slots, template.parts[1:], strict=True):
            pieces += (values[slot], part)
        return OutboxRow(
            key=recipient.supplier_id,
            event_id=event_id,
            event_type=f"match.{kind.value}",
            value=b"".join(pieces),
            headers=template.headers.replace(template.prototype_id, event_id),
        )

    def template(self, kind: MatchKind, still_matches: bool) -> Template | None:
        """The cut prototype for these events, or None when they take the slow path."""
        if (kind, still_matches) not in self._templates:
            self._templates[kind, still_matches] = self._cut(kind, still_matches)
        return self._templates[kind, still_matches]

    def _cut(self, kind: MatchKind, still_matches: bool) -> Template | None:
        event_id, match_id, codes = new_event_id(), new_event_id(), ("matched-codes-stand-in",)
        prototype = self.event(
            event_id=event_id,
            match_id=match_id,
            kind=kind,
            recipient=_STAND_IN_RECIPIENT,
            matched_codes=codes,
            still_matches=still_matches,
        )
        dumped = prototype.model_dump_json(serialize_as_any=True).encode()
        # The recipient holds the subject's stand-in too, so it is found (and blanked) first.
        stand_ins = [
            ("recipient", _STAND_IN_RECIPIENT.model_dump_json(serialize_as_any=True).encode()),
            ("id", to_json(event_id)),
            ("subject", to_json(_STAND_IN_RECIPIENT.supplier_id)),
            ("match_id", to_json(match_id)),
            ("matched_codes", to_json(codes)),
        ]
        spans: list[tuple[int, int, str]] = []
        searched = dumped
        for slot, stand_in in stand_ins:
            if searched.count(stand_in) != 1:
                return None
            start = searched.index(stand_in)
            end = start + len(stand_in)
            spans.append((start, end, slot))
            searched = searched[:start] + b"\0" * len(stand_in) + searched[end:]
        spans.sort()
        parts, slots, at = [], [], 0
        for start, end, slot in spans:
            parts.append(dumped[at:start])
            slots.append(slot)
            at = end
        parts.append(dumped[at:])
        return Template(
            parts=tuple(parts),
            slots=tuple(slots),
            headers=headers_column(prototype),
            prototype_id=event_id,
        )
