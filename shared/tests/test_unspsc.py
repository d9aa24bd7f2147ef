from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from tenderwire_shared.unspsc import UnspscCode, ancestors, depth

codes = TypeAdapter(UnspscCode)


@pytest.mark.parametrize("code", ["42131606", "42131600", "42130000", "42000000", "95121700"])
def test_well_formed_codes_are_accepted(code: str) -> None:
    assert codes.validate_python(code) == code


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("4213160", "exactly 8 digits"),
        ("421316060", "exactly 8 digits"),
        ("4213160A", "exactly 8 digits"),
        ("05131606", "below the first"),
        ("42001606", "below an empty one"),
        ("", "exactly 8 digits"),
    ],
)
def test_malformed_codes_are_refused_with_the_reason(code: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        codes.validate_python(code)


def test_depth_counts_levels_from_segment_to_commodity() -> None:
    assert [depth(c) for c in ("42000000", "42130000", "42131600", "42131606")] == [1, 2, 3, 4]


def test_ancestors_are_listed_nearest_first() -> None:
    assert ancestors("42131606") == ("42131600", "42130000", "42000000")
    assert ancestors("42130000") == ("42000000",)
    assert ancestors("42000000") == ()
