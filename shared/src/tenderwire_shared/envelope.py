"""The CloudEvents envelope of every Kafka event Tenderwire publishes or reads.

Events travel in the CloudEvents Kafka binding's structured mode: the value is the whole event
as CloudEvents JSON, the `content-type` header says so, and no `ce_*` header is set (those
announce binary mode, where the value would be the data alone).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import uuid_utils
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

DataT = TypeVar("DataT")

SPEC_VERSION = "1.0"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"

# Headers repeat what tools filter on, named as the log's keys are; outside the `ce_` prefix,
# which the binding reserves for binary mode.
EVENT_ID_HEADER = "event_id"
EVENT_TYPE_HEADER = "event_type"
CORRELATION_ID_HEADER = "correlation_id"


def new_event_id() -> str:
    # UUIDv7 sorts by creation time, so ids alone show the order events were made in.
    # uuid-utils keeps ids monotonic within a millisecond with a counter; uuid6 added a
    # millisecond per id instead, so at thousands of ids a second their time ran ahead.
    return str(uuid_utils.uuid7())


def utc_now() -> datetime:
    return datetime.now(UTC)


def _no_control_characters(value: str) -> str:
    # Attributes end up in PostgreSQL (which refuses NUL), in log lines and in headers.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise PydanticCustomError("control_characters", "must not contain control characters")
    return value


Attribute = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(_no_control_characters)
]
"""A context attribute: short, one line, and never empty."""


def _absent(value: object) -> bool:
    return value is None


class Envelope(BaseModel, Generic[DataT]):
    # Readers are tolerant: a newer producer may add attributes we do not know yet.
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Attribute = Field(default_factory=new_event_id)
    specversion: Attribute = SPEC_VERSION
    type: Attribute = Field(examples=["tender.published"])
    source: Attribute = Field(examples=["tenderwire/notices"])
    subject: Attribute = Field(description="Id of the aggregate the event is about")
    time: datetime = Field(default_factory=utc_now)
    # CloudEvents JSON has no null attributes: an unset one is left out (the SDKs refuse null).
    dataschema: Attribute | None = Field(default=None, exclude_if=_absent)
    correlationid: Attribute | None = Field(default=None, exclude_if=_absent)
    causationid: Attribute | None = Field(default=None, exclude_if=_absent)
    data: DataT

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """The structured-mode content type, and what tools filter on without parsing."""
        headers = [
            ("content-type", STRUCTURED_CONTENT_TYPE.encode()),
            (EVENT_ID_HEADER, self.id.encode()),
            (EVENT_TYPE_HEADER, self.type.encode()),
        ]
        if self.correlationid:
            headers.append((CORRELATION_ID_HEADER, self.correlationid.encode()))
        return headers


class RawEnvelope(Envelope[dict[str, Any]]):
    """An event as a consumer reads it, its data not yet parsed into a typed model.

    `id` has no default here: it is what the inbox deduplicates on, so an event that arrives
    without one is refused (dead-lettered) rather than given a new id at each delivery.
    """

    id: Attribute


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
