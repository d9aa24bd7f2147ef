"""Reading untrusted JSON: what a release holds, whatever type each value turned out to be."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tenderwire_shared.text import CONTROL_ONE_LINE

# The releaseTag codelist has 18 codes, the longest 22 characters long.
MAX_TAG_LENGTH = 50


def as_object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def objects_in(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def as_text(value: object) -> str | None:
    """A non-empty string, or a number written as one (ids are often numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse_datetime(value: object) -> tuple[datetime | None, bool]:
    """(the moment, whether it had no offset and was read as UTC); (None, False) if unreadable."""
    text = as_text(value)
    if text is None:
        return None, False
    try:
        parsed = datetime.fromisoformat(text)
        naive = parsed.tzinfo is None
        if naive:
            parsed = parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC)  # year 1 at +05:00 or 9999 at -05:00 has no UTC instant
    except (ValueError, OverflowError):
        return None, False
    return parsed, naive


def shown(tag: str) -> str:
    return " ".join(CONTROL_ONE_LINE.sub(" ", tag[:MAX_TAG_LENGTH]).split())
