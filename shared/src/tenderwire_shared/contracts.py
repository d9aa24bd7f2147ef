"""The published contract of every event: one JSON Schema per event type, from the models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from tenderwire_shared.envelope import Envelope
from tenderwire_shared.events import accounts, matches, suppliers, tenders

EVENT_PAYLOADS: dict[str, type[BaseModel]] = {
    **tenders.EVENT_MODELS,
    **dict.fromkeys(matches.MATCH_EVENT_TYPES, matches.MatchCreated),
    **dict.fromkeys(
        (suppliers.SUPPLIER_REGISTERED, suppliers.SUPPLIER_UPDATED, suppliers.SUPPLIER_DEACTIVATED),
        suppliers.SupplierChanged,
    ),
    suppliers.SUPPLIER_ERASED: suppliers.SupplierErased,
    accounts.ACCOUNT_MESSAGE: accounts.AccountMessage,
}


def event_json_schema(event_type: str) -> dict[str, Any]:
    payload = EVENT_PAYLOADS[event_type]
    schema = TypeAdapter(Envelope[payload]).json_schema(mode="serialization")  # type: ignore[valid-type]
    schema["title"] = event_type
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["properties"]["type"]["const"] = event_type
    return schema


def all_event_json_schemas() -> dict[str, dict[str, Any]]:
    return {event_type: event_json_schema(event_type) for event_type in EVENT_PAYLOADS}
