"""Payloads of events on the suppliers topic, written only by the matching service.

Keyed by supplier id; the latest event per key is the supplier's state, so the topic
suits compaction. It carries contact data: restrict who may read it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from tenderwire_shared.events.matches import Recipient

SUPPLIER_REGISTERED = "supplier.registered"
SUPPLIER_UPDATED = "supplier.updated"
SUPPLIER_DEACTIVATED = "supplier.deactivated"
# The account was deleted: every service erases the supplier's contact details it holds.
SUPPLIER_ERASED = "supplier.erased"


class SupplierChanged(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    supplier: Recipient
    country: str
    unspsc_codes: tuple[str, ...]
    active: bool
    version: int


class SupplierErased(BaseModel):
    """The last event of a supplier's key: its account is deleted. It carries no contact
    detail, so after compaction the topic keeps none either; each reader erases what it holds
    of the supplier's own (notify: its ledger, suppressions and digests)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    supplier_id: str
    erased_at: datetime
