"""The matching rules as plain predicates: what the index answers fast, and what `tw why`
explains. A supplier matches a tender when a code is close enough and every filter it set
passes. Close enough: a UNSPSC code at most TW_MATCHING_CODE_HIERARCHY_LEVELS apart, up or
down; a CPV code the tender's falls under at any depth (CPV's trailing zeros mean "this level
and below"), or one at most TW_MATCHING_CPV_HIERARCHY_LEVELS below the tender's.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from tenderwire_shared import cpv
from tenderwire_shared.events.matches import MatchKind
from tenderwire_shared.events.tenders import TenderSnapshot
from tenderwire_shared.unspsc import LEVELS, ancestors, depth

# What can change which tenders a supplier matches: a change to any of these backfills.
MATCHING_FIELDS = frozenset(
    {"unspsc_codes", "cpv_codes", "beneficiary_countries", "agencies", "notice_types", "keywords"}
)


def fold(text: str) -> str:
    """Lower case without accents, so "Médicaments" finds "medicaments" and the reverse."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class SupplierProfile:
    """What matching needs to know about one supplier."""

    supplier_id: str
    codes: tuple[str, ...]
    beneficiary_countries: frozenset[str] = frozenset()
    agencies: frozenset[str] = frozenset()
    notice_types: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()  # already folded
    least_developed: bool = False
    cpv_codes: tuple[str, ...] = ()  # normalised, 8 digits


@dataclass(frozen=True)
class TenderFacts:
    """What matching needs to know about one tender."""

    codes: tuple[str, ...]
    beneficiary_countries: frozenset[str]
    agency: str
    notice_type: str
    text: str = field(repr=False)  # folded title and description
    cpv_codes: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        codes: Iterable[str],
        beneficiary_countries: Iterable[str],
        agency: str,
        notice_type: str,
        title: str,
        description: str,
        cpv_codes: Iterable[str] = (),
    ) -> TenderFacts:
        return cls(
            codes=tuple(codes),
            cpv_codes=tuple(cpv_codes),
            beneficiary_countries=frozenset(beneficiary_countries),
            agency=agency,
            notice_type=notice_type,
            text=fold(f"{title}\n{description}"),
        )


def facts_of(tender: TenderSnapshot) -> TenderFacts:
    return TenderFacts.of(
        codes=tender.unspsc_codes,
        cpv_codes=tender.cpv_codes,
        beneficiary_countries=tender.beneficiary_countries,
        agency=tender.agency,
        notice_type=tender.notice_type.value,
        title=tender.title,
        description=tender.description,
    )


@dataclass(frozen=True)
class Alert:
    """One supplier to tell about a tender: what happened, and which of its codes matched."""

    supplier_id: str
    kind: MatchKind
    matched_codes: tuple[str, ...] = ()
    still_matches: bool = True


@dataclass(frozen=True)
class IndexedMatch:
    """A supplier the index found for a tender, with the codes that matched."""

    supplier_id: str
    matched_codes: tuple[str, ...]
    least_developed: bool
    matched_cpv_codes: tuple[str, ...] = ()


# Who hears about a tender, by what happened to it (services.match_tender applies these):
# - published: new matches (a tender imported already closed alerts no one);
# - amended: everyone alerted before hears about the amendment, even if its profile no longer
#   matches (it may be preparing a bid, and UNGM re-sends revised notices the same way), and
#   suppliers that match only now get a new-tender alert;
# - cancelled: everyone alerted before hears about it;
# - closed, awarded: remembered, no alerts.


def new_match_alerts(found: Iterable[IndexedMatch], *, already: set[str]) -> list[Alert]:
    """A new-tender alert for each supplier found that was not alerted before."""
    return [
        Alert(m.supplier_id, MatchKind.NEW, m.matched_codes)
        for m in found
        if m.supplier_id not in already
    ]


def amendment_alerts(
    alerted: Iterable[str],
    matching_now: Iterable[IndexedMatch],
    following: Collection[str] = (),
) -> list[Alert]:
    """Everyone alerted before hears about the amendment, saying whether it still matches; a
    supplier following the tender asked to hear of it, so it is never told it no longer does."""
    now = {m.supplier_id: m for m in matching_now}
    return [
        Alert(
            supplier_id,
            MatchKind.AMENDED,
            now[supplier_id].matched_codes if supplier_id in now else (),
            still_matches=supplier_id in now or supplier_id in following,
        )
        for supplier_id in sorted(alerted)
    ]


def alerts_to(alerted: Iterable[str], kind: MatchKind) -> list[Alert]:
    """The same news for everyone alerted before (a cancellation)."""
    return [Alert(s, kind, still_matches=True) for s in sorted(alerted)]


def in_sending_order(
    alerts: Iterable[Alert], least_developed: Mapping[str, bool], *, ldc_first: bool
) -> list[Alert]:
    """The alerts to suppliers in `least_developed` (the active ones), in the order they are
    sent: least-developed-country suppliers first when `ldc_first`, else as given."""
    return sorted(
        (a for a in alerts if a.supplier_id in least_developed),
        key=lambda a: not (ldc_first and least_developed[a.supplier_id]),
    )


def code_distance(supplier_code: str, tender_code: str) -> int | None:
    """Levels between two codes on one branch of the hierarchy; None when on different branches."""
    if supplier_code == tender_code:
        return 0
    up = ancestors(tender_code)
    if supplier_code in up:
        return up.index(supplier_code) + 1
    down = ancestors(supplier_code)
    if tender_code in down:
        return down.index(tender_code) + 1
    return None


def shallowest_useful_depth(levels: int) -> int:
    """How high in the hierarchy (1 segment ... 4 commodity) a supplier's code may sit and still
    reach a commodity code, the level tenders' items are classified at, within `levels`."""
    return max(1, len(LEVELS) - levels)


def why_code_never_matches(code: str, levels: int) -> str | None:
    """Why a supplier holding `code` would hear of no commodity-coded tender; None if it would."""
    level = depth(code)
    lowest = shallowest_useful_depth(levels)
    if level >= lowest:
        return None
    reach = LEVELS[max(0, level - 1 - levels) : level + levels]
    prefix = code[: 2 * level]
    instead = [
        f"{LEVELS[target - 1]} ({prefix}{'xx' * (target - level)}{'00' * (4 - target)})"
        for target in range(lowest, len(LEVELS) + 1)
    ]
    return (
        f"{code} is a {LEVELS[level - 1]} code; a code matches tenders at most {levels}"
        f" level{'s' if levels != 1 else ''} from it (TW_MATCHING_CODE_HIERARCHY_LEVELS), so"
        f" this one reaches only {_either(reach, 'and')} codes, never the commodity codes"
        f" tenders are classified with. Send the {_either(instead, 'or')} codes you supply"
        " instead"
    )


class NoCodesError(ValueError):
    """A change that would leave the supplier with neither UNSPSC nor CPV codes."""


class UnmatchableCodesError(ValueError):
    """Codes too high in the hierarchy to reach any tender; `reasons` says why, per code."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def check_codes_can_match(codes: list[str], levels: int) -> None:
    """Refuses codes too high in the hierarchy to reach any tender: the supplier would
    otherwise be registered and never hear of anything."""
    reasons = [
        reason for code in codes if (reason := why_code_never_matches(code, levels)) is not None
    ]
    if reasons:
        raise UnmatchableCodesError(reasons)


def _either(words: Iterable[str], conjunction: str) -> str:
    *rest, last = words
    return f"{', '.join(rest)} {conjunction} {last}" if rest else last


@lru_cache(maxsize=4096)
def _neighbourhood(codes: tuple[str, ...], levels: int) -> tuple[frozenset[str], frozenset[str]]:
    """The tender's codes, and those codes with their parents up to `levels` above."""
    exact = frozenset(codes)
    at_or_above = frozenset(a for c in codes for a in (c, *ancestors(c)[:levels]))
    return exact, at_or_above


def matched_codes(profile: SupplierProfile, tender: TenderFacts, levels: int) -> tuple[str, ...]:
    """The supplier's codes within `levels` of some tender code, up or down.

    Set lookups, not pairwise distances: this runs for every candidate of every tender.
    """
    exact, at_or_above = _neighbourhood(tender.codes, levels)
    return tuple(
        code
        for code in profile.codes
        if code in at_or_above or any(a in exact for a in ancestors(code)[:levels])
    )


@lru_cache(maxsize=4096)
def _cpv_neighbourhood(codes: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """The tender's CPV codes, and those codes with all their parents up to the division."""
    exact = frozenset(codes)
    at_or_above = frozenset(a for c in codes for a in (c, *cpv.ancestors(c)))
    return exact, at_or_above


def cpv_code_distance(supplier_code: str, tender_code: str) -> int | None:
    """CPV levels from the supplier's code down to the tender's (negative: the tender's is above
    it); None when on different branches."""
    if supplier_code == tender_code:
        return 0
    up = cpv.ancestors(tender_code)
    if supplier_code in up:
        return up.index(supplier_code) + 1
    down = cpv.ancestors(supplier_code)
    if tender_code in down:
        return -(down.index(tender_code) + 1)
    return None


def matched_cpv_codes(
    profile: SupplierProfile, tender: TenderFacts, levels: int
) -> tuple[str, ...]:
    """The supplier's CPV codes that some tender CPV code falls under (at any depth: "33100000"
    covers 331xxxxx), or that sit at most `levels` below a tender code (a tender classified
    only as group 331 still reaches a supplier of class 3314, as UNSPSC's rule does upward).

    Set lookups, as for UNSPSC: this runs for every candidate of every tender.
    """
    if not profile.cpv_codes or not tender.cpv_codes:
        return ()
    exact, at_or_above = _cpv_neighbourhood(tender.cpv_codes)
    return tuple(
        code
        for code in profile.cpv_codes
        if code in at_or_above or any(a in exact for a in cpv.ancestors(code)[:levels])
    )


@dataclass(frozen=True)
class FilterVerdict:
    rule: str
    passed: bool
    detail: str


def filter_verdicts(profile: SupplierProfile, tender: TenderFacts) -> list[FilterVerdict]:
    """Each optional filter the supplier set, and whether the tender passes it.

    A tender for "multiple destinations" (no beneficiary country) passes a country filter:
    the supplier may well deliver to one of them.
    """
    verdicts = []
    if profile.beneficiary_countries:
        ok = not tender.beneficiary_countries or bool(
            profile.beneficiary_countries & tender.beneficiary_countries
        )
        verdicts.append(
            FilterVerdict(
                "beneficiary_country", ok, f"wants {sorted(profile.beneficiary_countries)}"
            )
        )
    if profile.agencies:
        verdicts.append(
            FilterVerdict(
                "agency", tender.agency in profile.agencies, f"wants {sorted(profile.agencies)}"
            )
        )
    if profile.notice_types:
        verdicts.append(
            FilterVerdict(
                "notice_type",
                tender.notice_type in profile.notice_types,
                f"wants {sorted(profile.notice_types)}",
            )
        )
    if profile.keywords:
        verdicts.append(
            FilterVerdict(
                "keyword",
                any(k in tender.text for k in profile.keywords),
                f"wants one of {list(profile.keywords)}",
            )
        )
    return verdicts


def filters_pass(profile: SupplierProfile, tender: TenderFacts) -> bool:
    """The same rules as `filter_verdicts`, answered without building explanations."""
    countries = profile.beneficiary_countries
    if (
        countries
        and tender.beneficiary_countries
        and countries.isdisjoint(tender.beneficiary_countries)
    ):
        return False
    if profile.agencies and tender.agency not in profile.agencies:
        return False
    if profile.notice_types and tender.notice_type not in profile.notice_types:
        return False
    return not profile.keywords or any(k in tender.text for k in profile.keywords)


def matches(
    profile: SupplierProfile, tender: TenderFacts, levels: int, cpv_levels: int | None = None
) -> bool:
    """A UNSPSC or a CPV code close enough, and every filter passes; `cpv_levels` defaults to
    `levels`, as TW_MATCHING_CPV_HIERARCHY_LEVELS does."""
    cpv_levels = levels if cpv_levels is None else cpv_levels
    return (
        bool(matched_codes(profile, tender, levels))
        or bool(matched_cpv_codes(profile, tender, cpv_levels))
    ) and filters_pass(profile, tender)


def naive_scan(
    profiles: Iterable[SupplierProfile],
    tender: TenderFacts,
    levels: int,
    cpv_levels: int | None = None,
) -> list[str]:
    """Every supplier checked one by one: the baseline the index must agree with and beat."""
    return sorted(p.supplier_id for p in profiles if matches(p, tender, levels, cpv_levels))
