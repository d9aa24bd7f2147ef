"""CloudEvents-style envelope shared by every Kafka event Tenderwire publishes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import uuid_utils
from pydantic import BaseModel, ConfigDict, Field

DataT = TypeVar("DataT")

SPEC_VERSION = "1.0"


def new_event_id() -> str:
    # UUIDv7 sorts by creation time, so ids alone show the order events were made in.
    # uuid-utils keeps ids monotonic within a millisecond with a counter; uuid6 added a
    # millisecond per id instead, so at thousands of ids a second their time ran ahead.
    return str(uuid_utils.uuid7())


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel, Generic[DataT]):
    # Readers are tolerant: a newer producer may add attributes we do not know yet.
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(default_factory=new_event_id, min_length=1)
    specversion: str = SPEC_VERSION
    type: str = Field(min_length=1, examples=["tender.published"])
    source: str = Field(min_length=1, examples=["tenderwire/notices"])
    subject: str = Field(min_length=1, description="Id of the aggregate the event is about")
    time: datetime = Field(default_factory=utc_now)
    dataschema: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    data: DataT

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Headers that let tools filter without parsing the value."""
        headers = [("ce_id", self.id.encode()), ("ce_type", self.type.encode())]
        if self.correlationid:
            headers.append(("correlation_id", self.correlationid.encode()))
        return headers


class RawEnvelope(Envelope[dict[str, Any]]):
    """An envelope whose data has not been parsed into a typed model yet."""


# Where each event type keeps the tender and supplier it is about: read by consumers to tag
# their log lines and by operators' tools to filter, without parsing every type's model.
def _string_at(data: dict[str, Any], holder: str, field: str) -> str | None:
    inner = data.get(holder)
    value = inner.get(field) if isinstance(inner, dict) else None
    return value if isinstance(value, str) else None


def tender_id_of(data: dict[str, Any]) -> str | None:
    """Tender and match events carry data.tender.tender_id; notice commands data.notice_id."""
    if found := _string_at(data, "tender", "tender_id"):
        return found
    value = data.get("tender_id", data.get("notice_id"))
    return value if isinstance(value, str) else None


def supplier_id_of(data: dict[str, Any]) -> str | None:
    """Match events carry data.recipient.supplier_id, supplier events data.supplier.supplier_id."""
    found = _string_at(data, "recipient", "supplier_id") or _string_at(
        data, "supplier", "supplier_id"
    )
    value = found or data.get("supplier_id")
    return value if isinstance(value, str) else None
