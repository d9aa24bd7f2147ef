"""An in-memory index from UNSPSC and CPV code to suppliers, kept current as suppliers change.

A tender is matched by looking up its few codes (and their neighbours within the configured
number of levels) instead of checking every supplier: the cost grows with the size of the
answer, not of the registry. Posting lists are roaring bitmaps of dense internal ids, which
keeps a million suppliers in tens of megabytes and makes unions cheap. CPV codes have their
own posting lists, keyed by CPV code and prefix (its parents), looked up the same way.
"""

from __future__ import annotations

from collections import defaultdict

from pyroaring import BitMap

from tenderwire_matching.domain.matching import (
    IndexedMatch,
    SupplierProfile,
    TenderFacts,
    filters_pass,
    matched_codes,
    matched_cpv_codes,
)
from tenderwire_shared import cpv
from tenderwire_shared.unspsc import ancestors


class MatchIndex:
    def __init__(self, levels: int, cpv_levels: int | None = None) -> None:
        self.levels = levels
        self.cpv_levels = levels if cpv_levels is None else cpv_levels
        self._internal: dict[str, int] = {}
        self._profiles: list[SupplierProfile | None] = []
        self._free: list[int] = []
        # _at[code]: suppliers holding exactly that code.
        self._at: defaultdict[str, BitMap] = defaultdict(BitMap)
        # _under[code]: suppliers holding a code at most `levels` below it.
        self._under: defaultdict[str, BitMap] = defaultdict(BitMap)
        # _cpv_at[code]: suppliers holding exactly that CPV code; a tender's CPV code looks up
        # itself and every parent, since a supplier's code covers everything below it.
        self._cpv_at: defaultdict[str, BitMap] = defaultdict(BitMap)
        # _cpv_under[code]: suppliers holding a CPV code at most `cpv_levels` below it.
        self._cpv_under: defaultdict[str, BitMap] = defaultdict(BitMap)

    def __len__(self) -> int:
        return len(self._internal)

    def upsert(self, profile: SupplierProfile) -> None:
        self.remove(profile.supplier_id)
        internal = self._free.pop() if self._free else len(self._profiles)
        if internal == len(self._profiles):
            self._profiles.append(profile)
        else:
            self._profiles[internal] = profile
        self._internal[profile.supplier_id] = internal
        for code in profile.codes:
            self._at[code].add(internal)
            for parent in ancestors(code)[: self.levels]:
                self._under[parent].add(internal)
        for code in profile.cpv_codes:
            self._cpv_at[code].add(internal)
            for parent in cpv.ancestors(code)[: self.cpv_levels]:
                self._cpv_under[parent].add(internal)

    def remove(self, supplier_id: str) -> None:
        internal = self._internal.pop(supplier_id, None)
        if internal is None:
            return
        profile = self._profiles[internal]
        assert profile is not None
        for code in profile.codes:
            self._at[code].discard(internal)
            for parent in ancestors(code)[: self.levels]:
                self._under[parent].discard(internal)
        for code in profile.cpv_codes:
            self._cpv_at[code].discard(internal)
            for parent in cpv.ancestors(code)[: self.cpv_levels]:
                self._cpv_under[parent].discard(internal)
        self._profiles[internal] = None
        self._free.append(internal)

    def candidates(self, codes: tuple[str, ...], cpv_codes: tuple[str, ...] = ()) -> BitMap:
        """Suppliers with a code within `levels` of any of `codes`, or a CPV code close enough
        to one of `cpv_codes`, before filters."""
        postings = []
        for code in cpv_codes:
            postings.append(self._cpv_at.get(code, _EMPTY))
            postings.extend(self._cpv_at.get(parent, _EMPTY) for parent in cpv.ancestors(code))
            if self.cpv_levels:
                postings.append(self._cpv_under.get(code, _EMPTY))
        for code in codes:
            postings.append(self._at.get(code, _EMPTY))
            postings.extend(
                self._at.get(parent, _EMPTY) for parent in ancestors(code)[: self.levels]
            )
            if self.levels:
                postings.append(self._under.get(code, _EMPTY))
        return BitMap.union(*postings) if postings else BitMap()

    def match(self, tender: TenderFacts) -> list[IndexedMatch]:
        found = []
        candidates = self.candidates(tender.codes, tender.cpv_codes)
        for internal in candidates:
            profile = self._profiles[internal]
            assert profile is not None
            if not filters_pass(profile, tender):
                continue
            found.append(
                IndexedMatch(
                    supplier_id=profile.supplier_id,
                    matched_codes=matched_codes(profile, tender, self.levels),
                    least_developed=profile.least_developed,
                    # A UNSPSC-only tender (most of them) skips the CPV check: nothing to match.
                    matched_cpv_codes=(
                        matched_cpv_codes(profile, tender, self.cpv_levels)
                        if tender.cpv_codes
                        else ()
                    ),
                )
            )
        return found


_EMPTY = BitMap()
