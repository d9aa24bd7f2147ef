"""Payloads of events on the matches topic, written only by the matching service.

Keyed by supplier id, so one supplier's alerts stay in order.
"""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from tenderwire_shared.events.tenders import FieldChange, TenderSnapshot

MATCH_NEW = "match.new"
MATCH_AMENDED = "match.amended"
MATCH_CANCELLED = "match.cancelled"
MATCH_EVENT_TYPES = (MATCH_NEW, MATCH_AMENDED, MATCH_CANCELLED)


class MatchKind(StrEnum):
    NEW = "new"
    AMENDED = "amended"
    CANCELLED = "cancelled"


class Delivery(StrEnum):
    IMMEDIATE = "immediate"
    DAILY_DIGEST = "daily_digest"


class QuietHours(BaseModel):
    """From `start` to `end`, local time; may run over midnight (22:00 to 07:00)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    start: time
    end: time


class Recipient(BaseModel):
    """How to reach the supplier, and how it wants to be reached.

    Carried inside the match event so notify never reads matching's database and never
    races a separate supplier feed; the price is contact data (PII) on the matches topic.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    supplier_id: str
    legal_name: str
    email: str
    language: str
    timezone: str
    phone: str | None = Field(default=None, description="E.164, for SMS")
    delivery: Delivery = Delivery.IMMEDIATE
    digest_hour: int = Field(default=8, ge=0, le=23, description="Local hour of the digest")
    quiet_hours: QuietHours | None = Field(
        default=None, description="Local times with no immediate alerts; they are deferred"
    )
    least_developed: bool = False
    # Double opt-in: matching sends every contact, and says which are verified; notify sends
    # alerts only to verified ones. Defaults keep events from before verification readable.
    email_verified: bool = Field(
        default=True, description="False until the supplier opens the link sent to `email`"
    )
    phone_verified: bool = Field(
        default=True, description="False until the supplier types the code texted to `phone`"
    )
    also_email: tuple[str, ...] = Field(
        default=(),
        description="The supplier's other verified alert contacts; each gets the e-mail alerts",
    )
    paused_until: datetime | None = Field(
        default=None,
        description="Alerts are not sent before this instant (the supplier paused them); they"
        " are recorded as suppressed, not deferred",
    )


class MatchCreated(BaseModel):
    """One alert to one supplier about one tender revision.

    `kind` says which alert: a new tender, an amendment (with what changed), or a
    cancellation. `still_matches` is false for an amendment sent to a supplier that was
    alerted before but whose profile no longer matches the amended tender.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    match_id: str
    kind: MatchKind
    recipient: Recipient
    tender: TenderSnapshot
    matched_codes: tuple[str, ...]
    changes: tuple[FieldChange, ...] = ()
    reason: str | None = None
    still_matches: bool = True
