"""The snapshot's CPV codes and classifications are optional: old events still validate."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tenderwire_shared.events.tenders import Classification, TenderSnapshot


def old_event_tender(**extra: Any) -> dict[str, Any]:
    """A tender as events carried it before CPV: no cpv_codes, no classifications."""
    return {
        "tender_id": "T-1",
        "revision": 1,
        "agency": "UNDP",
        "reference": "RFQ-1",
        "title": "Gowns",
        "description": "",
        "language": "en",
        "notice_type": "request_for_quotation",
        "unspsc_codes": ["42131606"],
        "beneficiary_countries": [],
        "deadline": "2027-01-15T16:00:00Z",
        "deadline_utc_offset_minutes": 60,
        "published_at": "2026-12-01T00:00:00Z",
        **extra,
    }


def test_an_event_from_before_cpv_still_validates_with_empty_defaults() -> None:
    tender = TenderSnapshot.model_validate(old_event_tender())
    assert (tender.cpv_codes, tender.classifications) == ((), ())


def test_cpv_codes_are_normalised_and_checked_in_events_too() -> None:
    tender = TenderSnapshot.model_validate(
        old_event_tender(
            cpv_codes=["45233162-2"],
            classifications=[{"scheme": "CPVS", "code": "TA10", "description": None}],
        )
    )
    assert tender.cpv_codes == ("45233162",)
    assert tender.classifications == (Classification(scheme="CPVS", code="TA10"),)
    with pytest.raises(ValidationError, match="CPV code"):
        TenderSnapshot.model_validate(old_event_tender(cpv_codes=["4523"]))
