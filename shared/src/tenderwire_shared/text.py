"""Plain text fields: what agencies and suppliers type, refused when it carries markup or
control characters (PostgreSQL cannot store NUL, and no alert should carry a script)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_TAG = re.compile(r"<\s*[a-zA-Z!/?]")
# Unicode's control characters (C0, DEL and C1), and in one line its line and paragraph
# separators too: a title that breaks lines in one renderer and not another is not one line.
CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Paragraphs keep tab, line feed and carriage return.
CONTROL_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _check(value: str, control: re.Pattern[str]) -> str:
    if control.search(value):
        raise ValueError("must not contain control characters")
    if _TAG.search(value):
        raise ValueError("must be plain text; HTML tags are not allowed")
    return value


def check_line(value: str) -> str:
    return _check(value, CONTROL_ONE_LINE)


def check_paragraphs(value: str) -> str:
    return _check(value, CONTROL_MULTI_LINE)


PlainLine = Annotated[str, AfterValidator(check_line)]
PlainParagraphs = Annotated[str, AfterValidator(check_paragraphs)]
