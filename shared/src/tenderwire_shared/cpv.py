"""CPV codes (the EU's Common Procurement Vocabulary): 8 digits and a check digit, "45233162-2".

The check digit only guards against typing errors, so it is accepted and dropped: a code is
kept and compared as its 8 digits. The levels are read from the digits: the first 2 name the
division, 3 the group, 4 the class, 5 the category, and each of the last three digits refines
the category further. Trailing zeros mean "this level and below": "33100000" is group 331.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated

from pydantic import AfterValidator

# ASCII digits only, as for UNSPSC: `\d` matches other scripts' digits too.
_CODE = re.compile(r"([0-9]{8})(?:-([0-9]))?")
LEVELS = ("division", "group", "class", "category", "subcategory")
# How many leading digits each level of LEVELS keeps; the deepest covers digits 6 to 8.
_LEVEL_DIGITS = (2, 3, 4, 5, 8)


def normalise(value: str) -> str:
    """The 8 digits of "45233162", "45233162-2" or " 45233162-2 "; ValueError otherwise."""
    text = value.strip()
    found = _CODE.fullmatch(text)
    if found is None:
        if any(c.isdigit() and not c.isascii() for c in text):
            raise ValueError(f"CPV code {value!r} must be written with the digits 0-9")
        raise ValueError(
            f"CPV code {value!r} must be 8 digits, optionally followed by '-' and a check digit"
            " (45233162 or 45233162-2)"
        )
    code = found.group(1)
    if code.startswith("00"):
        raise ValueError(f"CPV code {value!r} has division 00, which CPV does not use")
    return code


CpvCode = Annotated[str, AfterValidator(normalise)]


def significant_digits(code: str) -> int:
    """How many leading digits the code sets: 2 for a division ("45000000"), up to 8."""
    return max(2, len(code.rstrip("0")))


def depth(code: str) -> int:
    """1 for a division, 2 a group, 3 a class, 4 a category, 5 to 7 for finer codes."""
    return len(ancestors(code)) + 1


def level_name(code: str) -> str:
    """The level the code names: "division", "group", "class", "category" or "subcategory"."""
    digits = significant_digits(code)
    return next(name for name, keep in zip(LEVELS, _LEVEL_DIGITS, strict=True) if digits <= keep)


@cache
def ancestors(code: str) -> tuple[str, ...]:
    """The codes above this one, nearest first, each a distinct 8-digit code: "45233162" has
    "45233160", "45233100", "45233000" (category), "45230000" (class), "45200000" (group) and
    "45000000" (division). A zero digit inside a code sets no level, so it adds no parent.

    Cached: matching asks for the same codes' parents over and over.
    """
    digits = significant_digits(code)
    parents: list[str] = []
    for keep in range(digits - 1, 1, -1):
        parent = code[:keep].ljust(8, "0")
        if parent != code and (not parents or parents[-1] != parent):
            parents.append(parent)
    return tuple(parents)
