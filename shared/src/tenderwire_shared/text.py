"""Plain text fields: what agencies and suppliers type, refused when it carries markup or
control characters (PostgreSQL cannot store NUL, and no alert should carry a script)."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_TAG = re.compile(r"<\s*[a-zA-Z!/?]")
# Unicode's explicit directional embeddings, overrides and isolates ("Trojan Source",
# CVE-2021-42574): one left open in a title or a name reorders whatever an e-mail, an SMS or
# the console shows after it, so a supplier could pass for another or a title read backwards.
# The implicit marks (U+200E, U+200F, U+061C) stay: right-to-left text needs them, and they
# reorder nothing beyond themselves.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# Unicode's control characters (C0, DEL and C1), and in one line its line and paragraph
# separators too: a title that breaks lines in one renderer and not another is not one line.
CONTROL_ONE_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI_CONTROLS}]")
# Paragraphs keep tab, line feed and carriage return.
CONTROL_MULTI_LINE = re.compile(f"[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f{_BIDI_CONTROLS}]")
# Categories that put nothing on the screen by themselves: separators, marks (which only
# decorate a letter), format characters (zero-width spaces and joiners, the BOM, soft
# hyphens), controls, private-use and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Mn", "Me", "Mc", "Cf", "Cc", "Co", "Cn"})


def has_visible(value: str) -> bool:
    return any(unicodedata.category(char) not in _INVISIBLE_CATEGORIES for char in value)


def _check(value: str, control: re.Pattern[str]) -> str:
    if control.search(value):
        raise ValueError("must not contain control characters (nor bidirectional overrides)")
    if _TAG.search(value):
        raise ValueError("must be plain text; HTML tags are not allowed")
    # Empty is for the field's own length rule to judge; text that shows nothing at all (only
    # zero-width spaces, say) would be a blank title or name that passes every length rule.
    if value and not has_visible(value):
        raise ValueError("must contain visible characters, not only spaces or invisible ones")
    return value


def check_line(value: str) -> str:
    return _check(value, CONTROL_ONE_LINE)


def check_paragraphs(value: str) -> str:
    return _check(value, CONTROL_MULTI_LINE)


PlainLine = Annotated[str, AfterValidator(check_line)]
PlainParagraphs = Annotated[str, AfterValidator(check_paragraphs)]
