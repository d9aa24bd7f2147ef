"""What the benchmarks send: the notice an agency posts, and the tender.published event it makes.

The raw-producer and relay runs send events built exactly as the notices service builds them
(`domain.snapshot_from_draft` and `services.tender_event`, as `services.publish` does), from the
same notice the API run posts, so all three move payloads of the same size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AnyHttpUrl

from tenderwire_notices.domain import notice_url, snapshot_from_draft
from tenderwire_notices.schemas import NoticeDraft
from tenderwire_notices.services import tender_event
from tenderwire_shared.envelope import new_event_id, utc_now
from tenderwire_shared.events.tenders import TENDER_PUBLISHED, TenderPublished, TenderSnapshot
from tenderwire_shared.local_ports import LOCAL_PORTS

PUBLIC_BASE_URL = LOCAL_PORTS.url(LOCAL_PORTS.notices)

_DESCRIPTION = (
    "Supply and delivery of disposable isolation gowns (AAMI level 2, non-sterile, sizes M to"
    " XXL) for district health centres, under a long-term agreement of two years with an"
    " option for one more.\n\nDelivery DAP to the regional medical stores in Dakar, Tambacounda"
    " and Kayes, in three lots. Offers must include the manufacturer's certificates, the shelf"
    " life at delivery and the lead time per lot."
)


def in_days(days: float, offset_hours: int = 1) -> str:
    """A deadline `days` from now in the agency's local time, as tests/support/notices_api.py writes
    it (not imported: that module pulls every service's app in through tests.support.platform)."""
    local = datetime.now(UTC) + timedelta(days=days, hours=offset_hours)
    return f"{local:%Y-%m-%dT%H:%M:%S}+{offset_hours:02d}:00"


def notice_body(reference: str) -> dict[str, Any]:
    """A notice as an agency posts it to POST /v1/notices: unique `reference` per agency."""
    return {
        "reference": reference,
        "title": "Isolation gowns for health centres",
        "description": _DESCRIPTION,
        "language": "en",
        "notice_type": "request_for_quotation",
        "unspsc_codes": ["42131606", "42132205"],
        "beneficiary_countries": ["SN", "Mali"],
        "deadline": in_days(30),
        "documents": [
            {
                "title": "Request for quotation and technical specifications",
                "url": "https://www.ungm.org/UNUser/Documents/DownloadPublicDocument?docId=1",
            },
            {
                "title": "General terms and conditions",
                "url": "https://www.unicef.org/supply/media/general-terms-and-conditions.pdf",
            },
        ],
        "contacts": [
            {"name": "Procurement unit", "email": "dakar.procurement@unicef.org"},
        ],
    }


@dataclass(frozen=True)
class OutgoingEvent:
    """One serialised event, as the outbox stores it and as a producer sends it."""

    event_id: str
    event_type: str
    key: str
    value: bytes
    headers: list[tuple[str, bytes]]

    def outbox_headers(self) -> str:
        """The outbox's `headers` column, written as `add_to_outbox` writes it."""
        return json.dumps([[k, v.decode()] for k, v in self.headers])


def _snapshot(agency: str) -> TenderSnapshot:
    """A tender as `services.publish` makes it from the benchmark's notice."""
    draft = NoticeDraft.model_validate(notice_body("TEMPLATE"))
    return snapshot_from_draft(
        draft, tender_id=new_event_id(), agency=agency, published_at=utc_now()
    )


def published_events(count: int, *, agency: str = "BENCH") -> list[OutgoingEvent]:
    """`count` distinct tender.published events (own tender id, reference and event id)."""
    template = _snapshot(agency)
    events: list[OutgoingEvent] = []
    for number in range(count):
        tender_id = new_event_id()
        tender = template.model_copy(
            update={
                "tender_id": tender_id,
                "reference": f"BENCH-{tender_id[-12:]}-{number}",
                "url": AnyHttpUrl(notice_url(PUBLIC_BASE_URL, tender_id)),
                "published_at": utc_now(),
            }
        )
        envelope = tender_event(
            TENDER_PUBLISHED,
            tender,
            TenderPublished(tender=tender),
            time=utc_now(),
            correlation_id=new_event_id(),
        )
        events.append(
            OutgoingEvent(
                event_id=envelope.id,
                event_type=envelope.type,
                key=tender_id,
                # As add_to_outbox serialises: the data's own fields, not those of BaseModel.
                value=envelope.model_dump_json(serialize_as_any=True).encode(),
                headers=envelope.kafka_headers(),
            )
        )
    return events
