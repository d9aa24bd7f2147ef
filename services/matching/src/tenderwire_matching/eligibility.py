"""Which suppliers the UN mandate covers: those registered in developing or transition economies."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from pydantic import BaseModel


class EconomyGroup(StrEnum):
    DEVELOPED = "developed"
    TRANSITION = "economy_in_transition"
    DEVELOPING = "developing"


class CountryGroups(BaseModel):
    edition: str
    developed: frozenset[str]
    economies_in_transition: frozenset[str]
    least_developed: frozenset[str]


@dataclass(frozen=True)
class Classification:
    group: EconomyGroup
    least_developed: bool

    @property
    def eligible(self) -> bool:
        return self.group is not EconomyGroup.DEVELOPED


@cache
def country_groups() -> CountryGroups:
    data = resources.files("tenderwire_matching.data").joinpath("country_groups.json")
    return CountryGroups.model_validate_json(data.read_text(encoding="utf-8"))


def classify(alpha3: str) -> Classification:
    groups = country_groups()
    if alpha3 in groups.developed:
        group = EconomyGroup.DEVELOPED
    elif alpha3 in groups.economies_in_transition:
        group = EconomyGroup.TRANSITION
    else:
        # WESP names ~160 economies; the small states it leaves out are developing ones.
        group = EconomyGroup.DEVELOPING
    return Classification(group=group, least_developed=alpha3 in groups.least_developed)
