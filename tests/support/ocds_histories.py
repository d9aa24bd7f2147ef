"""Notice histories and the validation helper the OCDS export tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from jsonschema import Draft4Validator

from tenderwire_notices.ocds import exporter
from tenderwire_notices.ocds.exporter import RevisionEntry
from tenderwire_shared.events.tenders import (
    TENDER_AMENDED,
    TENDER_AWARDED,
    TENDER_CANCELLED,
    TENDER_CLOSED,
    TENDER_PUBLISHED,
    Award,
    NoticeType,
    TenderSnapshot,
    TenderStatus,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def a_notice(**changes: Any) -> TenderSnapshot:
    notice = TenderSnapshot.model_validate(
        {
            "tender_id": "0195f3c2-7d4e-7000-8000-000000000001",
            "revision": 1,
            "status": TenderStatus.PUBLISHED,
            "agency": "UNICEF",
            "reference": "UNICEF-RFQ-2026-001",
            "title": "Isolation gowns for health centres",
            "description": "Disposable isolation gowns.\n\nLong-term agreement.",
            "language": "en",
            "notice_type": NoticeType.REQUEST_FOR_QUOTATION,
            "unspsc_codes": ("42131606", "42131600"),
            "beneficiary_countries": ("SEN", "MLI"),
            "deadline": datetime(2026, 4, 15, 16, 0, tzinfo=UTC),
            "deadline_utc_offset_minutes": 60,
            "published_at": START,
            "documents": ({"title": "Terms of reference", "url": "https://unicef.example/tor"},),
            "contacts": ({"name": "Supply Division", "email": "supply@unicef.example"},),
            "url": "https://tenderwire.example/v1/notices/0195f3c2-7d4e-7000-8000-000000000001",
        }
    )
    return notice.model_copy(update=changes)


def history(*events: tuple[str, str | None, dict[str, Any]]) -> list[RevisionEntry]:
    """Revisions from (event type, reason, changes to the notice so far)."""
    entries: list[RevisionEntry] = []
    notice = a_notice()
    for number, (event_type, reason, changes) in enumerate(events, start=1):
        notice = notice.model_copy(update={**changes, "revision": number})
        moment = START + timedelta(days=number - 1)
        entries.append(RevisionEntry(number, event_type, reason, notice, moment))
    return entries


AWARD = Award(
    supplier_name="Sahel Medical Supplies SARL",
    supplier_country="SEN",
    amount=Decimal("125000.50"),
    currency="USD",
    date=date(2026, 4, 20),
)

AWARDED = history(
    (TENDER_PUBLISHED, None, {}),
    (TENDER_AMENDED, "Clarified scope", {"status": TenderStatus.AMENDED, "title": "Gowns, lot 2"}),
    (
        TENDER_AMENDED,
        "More time for bidders",
        {"deadline": datetime(2026, 4, 22, 13, 0, tzinfo=UTC), "deadline_utc_offset_minutes": 180},
    ),
    (TENDER_CLOSED, None, {"status": TenderStatus.CLOSED}),
    (TENDER_AWARDED, None, {"status": TenderStatus.AWARDED, "award": AWARD}),
)

CANCELLED = history(
    (TENDER_PUBLISHED, None, {}),
    (
        TENDER_CANCELLED,
        "Budget withdrawn",
        {"status": TenderStatus.CANCELLED, "cancellation_reason": "Budget withdrawn"},
    ),
)

# An import of a tender whose deadline had passed: stored closed at its first revision.
IMPORTED_CLOSED = [
    RevisionEntry(
        1,
        TENDER_CLOSED,
        None,
        a_notice(status=TenderStatus.CLOSED, ocid="ocds-213czf-000-00001"),
        START,
    )
]

HISTORIES = {"awarded": AWARDED, "cancelled": CANCELLED, "imported closed": IMPORTED_CLOSED}


def package_of(revisions: list[RevisionEntry]) -> dict[str, Any]:
    return exporter.release_package(
        revisions,
        publisher_name="Tenderwire",
        uri="https://tenderwire.example/v1/notices/x/ocds/release-package",
        buyer_name="United Nations Children's Fund",
    )


def errors(validator: Draft4Validator, document: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
