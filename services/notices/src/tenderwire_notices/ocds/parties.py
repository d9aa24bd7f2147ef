"""Parties: the buyer, the procuring entity and suppliers a release refers to, and their
countries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenderwire_notices.ocds.untrusted import as_object, as_text, objects_in
from tenderwire_shared.countries import to_alpha3


def party(release: Mapping[str, Any], reference: object, role: str | None) -> Mapping[str, Any]:
    """The party a reference points at by id; else the first with `role`; else the reference
    itself, which OCDS 1.0 data uses to carry the organisation's details inline."""
    ref = as_object(reference)
    parties = objects_in(release.get("parties"))
    wanted = as_text(ref.get("id"))
    if wanted is not None:
        for party in parties:
            if as_text(party.get("id")) == wanted:
                return party
    if role is not None:
        for party in parties:
            roles = party.get("roles")
            if isinstance(roles, list) and role in roles:
                return party
    return ref


def buyer(release: Mapping[str, Any]) -> Mapping[str, Any]:
    return party(release, release.get("buyer"), "buyer")


def procuring_entity(release: Mapping[str, Any]) -> Mapping[str, Any]:
    return party(
        release, as_object(release.get("tender")).get("procuringEntity"), "procuringEntity"
    )


def country_of(party: Mapping[str, Any]) -> str | None:
    return as_text(as_object(party.get("address")).get("countryName"))


def alpha3(name: str, what: str, notes: list[str]) -> str | None:
    try:
        return to_alpha3(name)
    except ValueError:
        notes.append(f"{what} {name[:100]!r} is not a country Tenderwire knows; dropped")
        return None
