"""ISO 3166 country codes: accepted as alpha-2, alpha-3 or an English name, kept as alpha-3."""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator


def to_alpha3(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("country must not be empty")
    country = None
    if len(text) == 2:
        country = pycountry.countries.get(alpha_2=text.upper())
    elif len(text) == 3:
        country = pycountry.countries.get(alpha_3=text.upper())
    if country is None:
        try:
            country = pycountry.countries.lookup(text)
        except LookupError:
            country = None
    if country is None:
        raise ValueError(f"{value!r} is not an ISO 3166 country code or name")
    return str(country.alpha_3)


CountryCode = Annotated[str, AfterValidator(to_alpha3)]
