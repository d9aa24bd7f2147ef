from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from tenderwire_shared.countries import CountryCode

countries = TypeAdapter(CountryCode)


@pytest.mark.parametrize(
    ("given", "alpha3"),
    [("SN", "SEN"), ("sn", "SEN"), ("SEN", "SEN"), ("Senegal", "SEN"), (" Peru ", "PER")],
)
def test_codes_and_names_become_alpha3(given: str, alpha3: str) -> None:
    assert countries.validate_python(given) == alpha3


@pytest.mark.parametrize("given", ["Narnia", "XX", "ZZZ", ""])
def test_unknown_countries_are_refused(given: str) -> None:
    with pytest.raises(ValidationError, match="country"):
        countries.validate_python(given)
