"""UNSPSC codes: 8 digits, two per level (segment, family, class, commodity)."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated

from pydantic import AfterValidator

# ASCII digits only: `\d` also matches Arabic-Indic and other scripts' digits, and a code
# written in them would be stored as given and never match the same code written 0-9.
_CODE = re.compile(r"[0-9]{8}")
LEVELS = ("segment", "family", "class", "commodity")


def check_code(value: str) -> str:
    if not _CODE.fullmatch(value):
        if value.isdigit() and not value.isascii():
            raise ValueError(f"UNSPSC code {value!r} must be written with the digits 0-9")
        raise ValueError(f"UNSPSC code {value!r} must be exactly 8 digits")
    segment = int(value[:2])
    if segment < 10:
        raise ValueError(f"UNSPSC code {value!r} has segment {value[:2]}, below the first (10)")
    pairs = [value[i : i + 2] for i in range(0, 8, 2)]
    # Higher levels are written with trailing "00"; a non-zero pair after a "00" is malformed.
    seen_zero = False
    for pair in pairs[1:]:
        if pair == "00":
            seen_zero = True
        elif seen_zero:
            raise ValueError(f"UNSPSC code {value!r} has a level set below an empty one")
    return value


UnspscCode = Annotated[str, AfterValidator(check_code)]


def depth(code: str) -> int:
    """1 for a segment, 4 for a commodity."""
    pairs = [code[i : i + 2] for i in range(0, 8, 2)]
    return 4 - sum(1 for p in pairs[1:] if p == "00")


@cache
def ancestors(code: str) -> tuple[str, ...]:
    """The code's parents, nearest first: a commodity's class, then family, then segment.

    Cached: matching asks for the same few hundred thousand codes' parents over and over.
    """
    level = depth(code)
    return tuple(code[: keep * 2].ljust(8, "0") for keep in range(level - 1, 0, -1))
