from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from tenderwire_shared.cpv import CpvCode, ancestors, depth, level_name, normalise


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ("45233162", "45233162"),
        ("45233162-2", "45233162"),
        (" 33100000-1 ", "33100000"),
        ("03000000-1", "03000000"),
    ],
)
def test_normalise_keeps_the_eight_digits(given_: str, expected: str) -> None:
    assert normalise(given_) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "4523316",
        "452331620",
        "45233162-",
        "45233162-22",
        "45233162/2",
        "4523316a",
        "",
        "00000000",
        "٤٥٢٣٣١٦٢",
        "45 233162",
    ],
)
def test_normalise_refuses_anything_else(bad: str) -> None:
    with pytest.raises(ValueError, match="CPV code"):
        normalise(bad)


def test_non_ascii_digits_are_named() -> None:
    with pytest.raises(ValueError, match="digits 0-9"):
        normalise("٤٥٢٣٣١٦٢")


def test_pydantic_type_normalises_and_refuses() -> None:
    adapter = TypeAdapter(CpvCode)
    assert adapter.validate_python("45233162-2") == "45233162"
    with pytest.raises(ValidationError):
        adapter.validate_python("1234")


def test_levels_come_from_the_digits() -> None:
    assert level_name("45000000") == "division"
    assert level_name("33100000") == "group"
    assert level_name("33140000") == "class"
    assert level_name("33141000") == "category"
    assert level_name("33141100") == "subcategory"
    assert level_name("03000000") == "division"
    assert [depth(c) for c in ("45000000", "45200000", "45230000", "45233000")] == [1, 2, 3, 4]


def test_ancestors_nearest_first() -> None:
    assert ancestors("45233162") == (
        "45233160",
        "45233100",
        "45233000",
        "45230000",
        "45200000",
        "45000000",
    )
    assert ancestors("33100000") == ("33000000",)
    assert ancestors("45000000") == ()


def test_a_zero_inside_a_code_adds_no_parent() -> None:
    # "09300000" is group 093; "09310000" its class; a 0 at the group digit means none set.
    assert ancestors("09310000") == ("09300000", "09000000")
    assert ancestors("03100000") == ("03000000",)
    assert ancestors("45203000") == ("45200000", "45000000")


codes = st.from_regex(r"(0[1-9]|[1-9][0-9])[0-9]{6}", fullmatch=True)


@given(codes)
def test_every_ancestor_is_a_prefix_with_zeros(code: str) -> None:
    parents = ancestors(code)
    assert len(set(parents)) == len(parents)
    assert code not in parents
    for parent in parents:
        kept = parent.rstrip("0")
        assert code.startswith(kept)
        assert significant_digits_of(parent) < significant_digits_of(code)
    assert depth(code) == len(parents) + 1
    if parents:
        assert parents[-1] == code[:2] + "000000"


def significant_digits_of(code: str) -> int:
    return max(2, len(code.rstrip("0")))
