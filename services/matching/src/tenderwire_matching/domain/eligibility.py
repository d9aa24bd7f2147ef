"""Who may register: suppliers registered in developing or transition economies (the UN mandate).

The classification lives in ``data/country_groups.json``: one entry for every ISO 3166-1 alpha-3
code, following UN DESA's WESP country classification, with the UN LDC, LLDC and SIDS lists.
``data/README.md`` names the edition, the sources and the fallback rule for codes WESP omits.
The file ships inside the package and is read once: it is part of the rules, not a data source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class EconomyGroup(StrEnum):
    DEVELOPED = "developed"
    TRANSITION = "economy_in_transition"
    DEVELOPING = "developing"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CountryEntry(_Frozen):
    name: str
    group: EconomyGroup
    ldc: bool
    lldc: bool
    sids: bool
    source: str
    verified: bool
    note: str | None = None

    @model_validator(mode="after")
    def _flags_are_for_developing_or_transition(self) -> CountryEntry:
        if self.group is EconomyGroup.DEVELOPED and (self.ldc or self.lldc or self.sids):
            raise ValueError(f"{self.name}: a developed economy cannot be an LDC, LLDC or SIDS")
        return self


class CountryGroups(BaseModel):
    """The data file; metadata other than these fields is documentation only."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: Literal[2]
    edition: str
    as_of: date
    ldc_list_as_of: date
    fallback_rule: str
    countries: dict[str, CountryEntry]

    def codes(self, group: EconomyGroup) -> frozenset[str]:
        return frozenset(code for code, c in self.countries.items() if c.group is group)

    @property
    def developed(self) -> frozenset[str]:
        return self.codes(EconomyGroup.DEVELOPED)

    @property
    def economies_in_transition(self) -> frozenset[str]:
        return self.codes(EconomyGroup.TRANSITION)

    @property
    def least_developed(self) -> frozenset[str]:
        return frozenset(code for code, c in self.countries.items() if c.ldc)


@dataclass(frozen=True)
class Classification:
    group: EconomyGroup
    least_developed: bool
    landlocked: bool = False
    small_island: bool = False

    @property
    def eligible(self) -> bool:
        return self.group is not EconomyGroup.DEVELOPED


@cache
def country_groups() -> CountryGroups:
    data = resources.files("tenderwire_matching.data").joinpath("country_groups.json")
    return CountryGroups.model_validate_json(data.read_text(encoding="utf-8"))


def edition() -> str:
    """The WESP edition the classification follows (``country_groups()`` has the dates)."""
    return country_groups().edition


def classify(alpha3: str) -> Classification:
    code = alpha3.strip().upper()
    entry = country_groups().countries.get(code)
    if entry is None:
        raise ValueError(
            f"{alpha3!r} is not an ISO 3166-1 alpha-3 country code known to the country"
            f" classification ({country_groups().edition})"
        )
    return Classification(
        group=entry.group,
        least_developed=entry.ldc,
        landlocked=entry.lldc,
        small_island=entry.sids,
    )


class IneligibleCountryError(Exception):
    """The supplier's country is outside the mandate."""


def check_eligible(country: str, *, refuse_developed: bool) -> None:
    """Refuses a supplier registered in a developed economy, unless the policy allows them."""
    if refuse_developed and not classify(country).eligible:
        raise IneligibleCountryError(
            f"{country} is classified as a developed economy; Tenderwire serves"
            " suppliers registered in developing countries and economies in transition"
        )
