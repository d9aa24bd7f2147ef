"""Payloads of events on the matches topic, written only by the matching service."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from tenderwire_shared.events.tenders import TenderSnapshot

MATCH_NEW = "match.new"


class MatchKind(StrEnum):
    NEW = "new"


class Recipient(BaseModel):
    """How to reach the supplier.

    Carried inside the match event so notify never reads matching's database and never
    races a separate supplier feed; the price is contact data (PII) on the matches topic.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    supplier_id: str
    legal_name: str
    email: str
    language: str
    timezone: str


class MatchCreated(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    match_id: str
    kind: MatchKind
    recipient: Recipient
    tender: TenderSnapshot
    matched_codes: tuple[str, ...]
