"""Payloads of events on the suppliers topic, written only by the matching service.

Keyed by supplier id; the latest event per key is the supplier's state, so the topic
suits compaction. It carries contact data: restrict who may read it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tenderwire_shared.events.matches import Recipient

SUPPLIER_REGISTERED = "supplier.registered"
SUPPLIER_UPDATED = "supplier.updated"
SUPPLIER_DEACTIVATED = "supplier.deactivated"


class SupplierChanged(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    supplier: Recipient
    country: str
    unspsc_codes: tuple[str, ...]
    active: bool
    version: int
