"""A synthetic supplier registry and tender stream with a realistic, skewed shape.

The UNSPSC tree uses the real segment numbers (10 to 95) and made-up families, classes and
commodities below them. Popularity is Zipf-like at every level, so a few codes (medical
supplies, IT, construction, consultancy) are held by tens of thousands of suppliers and most
by a handful. Everything comes from one `random.Random`, so a seed gives the same data.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Generic, TypeVar

from tenderwire_matching.domain.matching import SupplierProfile, TenderFacts, fold

# Real UNSPSC segments, most popular on UNGM first (medical, IT, construction, services...).
_SEGMENTS_BY_POPULARITY = (
    "42 43 72 81 80 44 46 50 25 39 47 56 30 40 31 41 53 78 85 86 70 77 83 84 24 26 27 32 "
    "45 48 49 51 52 55 60 71 73 76 82 90 91 92 93 94 95 10 11 12 13 14 15 20 21 22 23 54"
)
SEGMENTS_BY_POPULARITY = tuple(_SEGMENTS_BY_POPULARITY.split())

# Words a tender in the segment uses and a supplier in it may filter on.
VOCABULARY: dict[str, tuple[str, ...]] = {
    "42": (
        "gowns",
        "syringes",
        "gloves",
        "masks",
        "vaccines",
        "test kits",
        "médicaments",
        "stethoscopes",
        "ultrasound",
        "bandages",
        "malaria",
        "cold chain",
    ),
    "43": (
        "laptops",
        "servers",
        "software",
        "licences",
        "routers",
        "printers",
        "tablets",
        "network",
        "cybersecurity",
        "data centre",
    ),
    "72": (
        "construction",
        "rehabilitation",
        "borehole",
        "latrines",
        "roofing",
        "school",
        "bridge",
        "road",
        "réhabilitation",
    ),
    "81": ("engineering", "survey", "geotechnical", "software development", "design", "laboratory"),
    "80": ("consultancy", "evaluation", "training", "audit", "assessment", "communication"),
    "44": ("stationery", "toner", "paper", "office supplies"),
    "46": ("fire extinguishers", "helmets", "cctv", "body armour", "demining"),
    "50": ("rice", "wheat flour", "vegetable oil", "pulses", "nutrition", "biscuits", "sugar"),
    "25": ("vehicles", "motorcycles", "ambulance", "tyres", "spare parts", "4x4", "boats"),
    "39": ("solar", "lanterns", "cables", "lighting", "street lights"),
    "47": ("soap", "hygiene kits", "detergent", "chlorine", "dignity kits"),
    "56": ("desks", "chairs", "beds", "shelving", "school furniture"),
    "30": ("cement", "prefabricated", "steel", "timber", "tarpaulins"),
    "40": ("water pumps", "generators", "air conditioning", "pipes", "water tanks"),
}
GENERIC_WORDS = ("supply", "delivery", "services", "equipment", "maintenance", "installation")

# ISO 3166 alpha-3, as the services keep them; most active beneficiary countries first.
COUNTRIES = (
    "AFG",
    "SYR",
    "YEM",
    "SDN",
    "SSD",
    "COD",
    "ETH",
    "SOM",
    "NGA",
    "UKR",
    "BGD",
    "MLI",
    "NER",
    "TCD",
    "BFA",
    "KEN",
    "UGA",
    "MOZ",
    "HTI",
    "LBN",
    "JOR",
    "IRQ",
    "PAK",
    "MMR",
    "SEN",
    "CAF",
    "CMR",
    "ZWE",
    "MWI",
    "ZMB",
    "TZA",
    "RWA",
    "BDI",
    "GIN",
    "SLE",
    "LBR",
    "MDG",
    "NPL",
    "LAO",
    "KHM",
    "TJK",
    "KGZ",
    "UZB",
    "MDA",
    "GEO",
    "ARM",
    "PER",
    "BOL",
    "COL",
    "VEN",
    "GTM",
    "HND",
)
AGENCIES = (
    "UNDP",
    "UNICEF",
    "WFP",
    "UNHCR",
    "UNOPS",
    "WHO",
    "FAO",
    "UNFPA",
    "IOM",
    "UNIDO",
    "UNESCO",
    "ILO",
    "UNEP",
    "UN-HABITAT",
    "UNRWA",
    "IAEA",
    "ITU",
    "UNAIDS",
    "UNSECRETARIAT",
    "IFAD",
)
NOTICE_TYPES = (
    "request_for_quotation",
    "invitation_to_bid",
    "request_for_proposal",
    "request_for_eoi",
    "call_for_individual_consultants",
    "request_for_information",
    "request_for_prequalification",
    "call_for_implementing_partners",
    "grant_support_call_for_proposal",
    "pre_bid_notice",
)

CODES_PER_SUPPLIER_WEIGHTS = (40, 27, 15, 7, 5, 3, 2, 1)  # 1 to 8 codes, mostly 1 to 3
CODES_PER_TENDER_WEIGHTS = (60, 30, 10)  # 1 to 3 codes
SUPPLIER_CLASS_SHARE = 0.25  # a supplier's code is a class (xxxxxx00), else a commodity
TENDER_CLASS_SHARE = 0.25
TENDER_FAMILY_SHARE = 0.03  # some tenders are only coded down to the family
SAME_SEGMENT_SHARE = 0.7  # a supplier's (or tender's) further codes stay in its first segment
COUNTRY_FILTER_SHARE = 0.20
AGENCY_FILTER_SHARE = 0.10
NOTICE_TYPE_FILTER_SHARE = 0.05
KEYWORD_FILTER_SHARE = 0.10
LEAST_DEVELOPED_SHARE = 0.3
MULTIPLE_DESTINATIONS_SHARE = 0.2  # tenders without a beneficiary country


def zipf_weights(count: int, exponent: float = 1.0) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, count + 1)]


def _pair(index: int) -> str:
    """Level numbers as UNSPSC writes them: 10, 11, ... (never 00, which means "not set")."""
    return f"{10 + index:02d}"


T = TypeVar("T")


class Weighted(Generic[T]):
    """Draws items with fixed weights in O(log n): bisect on cumulative weights."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = items
        self._cumulative = list(accumulate(weights))

    def draw(self, rng: random.Random) -> T:
        point = rng.random() * self._cumulative[-1]
        return self.items[bisect_right(self._cumulative, point)]


@dataclass(frozen=True)
class UnspscTree:
    """Commodities with their popularity, grouped by segment so a draw can stay in one."""

    commodities: list[str]
    class_of: list[str]  # class code of each commodity, one shared string per class
    family_of: list[str]
    cumulative: list[float]  # running total of the commodities' popularity
    segment_span: dict[str, tuple[int, int]]  # segment -> [first, last) commodity positions

    @property
    def class_count(self) -> int:
        return len(set(self.class_of))

    def draw_position(self, rng: random.Random, segment: str | None = None) -> int:
        first, last = self.segment_span[segment] if segment else (0, len(self.commodities))
        below = self.cumulative[first - 1] if first else 0.0
        point = below + rng.random() * (self.cumulative[last - 1] - below)
        return min(bisect_left(self.cumulative, point, first, last), last - 1)


def build_tree(rng: random.Random) -> UnspscTree:
    """~56 segments x 5-20 families x 3-20 classes x 2-30 commodities, Zipf-popular at each level.

    Ranks within a level are shuffled, so the popular family is not always the first one.
    """
    commodities: list[str] = []
    class_of: list[str] = []
    family_of: list[str] = []
    weights: list[float] = []
    segment_span: dict[str, tuple[int, int]] = {}
    for segment_weight, segment in zip(
        zipf_weights(len(SEGMENTS_BY_POPULARITY)), SEGMENTS_BY_POPULARITY, strict=True
    ):
        first = len(commodities)
        for family_index, family_weight in _shuffled_zipf(rng, rng.randint(5, 20)):
            family = f"{segment}{_pair(family_index)}0000"
            for class_index, class_weight in _shuffled_zipf(rng, rng.randint(3, 20)):
                class_code = f"{family[:4]}{_pair(class_index)}00"
                for commodity_index, weight in _shuffled_zipf(rng, rng.randint(2, 30)):
                    commodities.append(f"{class_code[:6]}{_pair(commodity_index)}")
                    class_of.append(class_code)
                    family_of.append(family)
                    weights.append(segment_weight * family_weight * class_weight * weight)
        segment_span[segment] = (first, len(commodities))
    return UnspscTree(commodities, class_of, family_of, list(accumulate(weights)), segment_span)


def _shuffled_zipf(rng: random.Random, count: int) -> list[tuple[int, float]]:
    weights = zipf_weights(count)
    rng.shuffle(weights)
    return list(enumerate(weights))


class Generator:
    """Suppliers and tenders drawn from one tree and one random stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.tree = build_tree(self.rng)
        self._codes_per_supplier = Weighted(range(1, 9), CODES_PER_SUPPLIER_WEIGHTS)
        self._codes_per_tender = Weighted(range(1, 4), CODES_PER_TENDER_WEIGHTS)
        self._countries = Weighted(COUNTRIES, zipf_weights(len(COUNTRIES), 0.8))
        self._agencies = Weighted(AGENCIES, zipf_weights(len(AGENCIES)))
        self._notice_types = Weighted(NOTICE_TYPES, zipf_weights(len(NOTICE_TYPES)))
        # Equal filters share one frozenset, as they would after interning on load.
        self._sets: dict[frozenset[str], frozenset[str]] = {}

    def supplier(self, number: int) -> SupplierProfile:
        rng = self.rng
        codes = self._codes(self._codes_per_supplier.draw(rng), SUPPLIER_CLASS_SHARE, 0.0)
        return SupplierProfile(
            supplier_id=f"S{number:07d}",
            codes=codes,
            beneficiary_countries=self._maybe_set(COUNTRY_FILTER_SHARE, self._countries, 3),
            agencies=self._maybe_set(AGENCY_FILTER_SHARE, self._agencies, 3),
            notice_types=self._maybe_set(NOTICE_TYPE_FILTER_SHARE, self._notice_types, 2),
            keywords=self._keywords(codes[0]) if rng.random() < KEYWORD_FILTER_SHARE else (),
            least_developed=rng.random() < LEAST_DEVELOPED_SHARE,
        )

    def suppliers(self, count: int) -> list[SupplierProfile]:
        return [self.supplier(number) for number in range(count)]

    def tender(self) -> TenderFacts:
        rng = self.rng
        count = self._codes_per_tender.draw(rng)
        codes = self._codes(count, TENDER_CLASS_SHARE, TENDER_FAMILY_SHARE)
        countries: frozenset[str] = frozenset()
        if rng.random() >= MULTIPLE_DESTINATIONS_SHARE:
            countries = self._draw_set(self._countries, 3)
        words = [rng.choice(self._vocabulary(code)) for code in codes for _ in range(2)]
        return TenderFacts.of(
            codes=codes,
            beneficiary_countries=countries,
            agency=self._agencies.draw(rng),
            notice_type=self._notice_types.draw(rng),
            title=f"{rng.choice(GENERIC_WORDS).capitalize()} of {' and '.join(words[:2])}",
            description=f"Lot 1: {', '.join(words)}. {rng.choice(GENERIC_WORDS)} included.",
        )

    def tenders(self, count: int) -> list[TenderFacts]:
        return [self.tender() for _ in range(count)]

    def _codes(self, count: int, class_share: float, family_share: float) -> tuple[str, ...]:
        rng, tree = self.rng, self.tree
        first = tree.draw_position(rng)
        positions = [first]
        segment = tree.commodities[first][:2]
        for _ in range(count - 1):
            near = rng.random() < SAME_SEGMENT_SHARE
            positions.append(tree.draw_position(rng, segment if near else None))
        codes: list[str] = []
        for position in positions:
            roll = rng.random()
            if roll < family_share:
                code = tree.family_of[position]
            elif roll < family_share + class_share:
                code = tree.class_of[position]
            else:
                code = tree.commodities[position]
            if code not in codes:
                codes.append(code)
        return tuple(codes)

    def _maybe_set(self, share: float, choices: Weighted[str], most: int) -> frozenset[str]:
        if self.rng.random() >= share:
            return frozenset()
        return self._draw_set(choices, most)

    def _draw_set(self, choices: Weighted[str], most: int) -> frozenset[str]:
        size = 1 + int(self.rng.random() ** 2 * most)  # mostly one
        drawn = frozenset(choices.draw(self.rng) for _ in range(size))
        return self._sets.setdefault(drawn, drawn)

    def _keywords(self, code: str) -> tuple[str, ...]:
        rng = self.rng
        words = self._vocabulary(code) if rng.random() < 0.8 else rng.choice(_VOCABULARIES)
        size = min(len(words), 1 + int(rng.random() ** 2 * 3))
        return tuple(fold(word) for word in rng.sample(words, size))

    def _vocabulary(self, code: str) -> tuple[str, ...]:
        return VOCABULARY.get(code[:2], GENERIC_WORDS)


_VOCABULARIES = (*VOCABULARY.values(), GENERIC_WORDS)
