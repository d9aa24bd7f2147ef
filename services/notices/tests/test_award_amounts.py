"""An award's amount is kept as the number it is, not in the notation it came in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tenderwire_notices.schemas import AwardDecision


def amount_of(sent: object) -> str:
    decision = AwardDecision.model_validate(
        {
            "supplier_name": "Sahel Medical Supplies SARL",
            "supplier_country": "SN",
            "amount": sent,
            "currency": "USD",
            "date": "2026-01-01",
        }
    )
    return str(decision.model_dump(mode="json")["amount"])


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("1E+5", "100000"),
        ("1.5E+1", "15"),
        ("-0", "0"),
        ("-0.00", "0.00"),
        ("125000.50", "125000.50"),
        ("100", "100"),
        (9800, "9800"),
    ],
)
def test_an_amount_in_exponent_notation_or_negative_zero_is_kept_plain(
    sent: object, kept: str
) -> None:
    assert amount_of(sent) == kept
    assert Decimal(kept) == Decimal(str(sent))
