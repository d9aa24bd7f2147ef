"""The code catalogue's rules: the two schemes' hierarchies, which title a code is shown with,
what a search asks for, what a tender teaches, and how an operator's list is read. Pure."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from tenderwire_matching.domain.matching import fold
from tenderwire_shared import cpv, unspsc
from tenderwire_shared.events.tenders import TenderSnapshot
from tenderwire_shared.i18n import supported
from tenderwire_shared.text import check_line

# A title is a name, not a description: longer item descriptions are cut at a word.
MAX_TITLE = 200
MAX_QUERY = 100


class Scheme(StrEnum):
    UNSPSC = "unspsc"
    CPV = "cpv"


class Source(StrEnum):
    NOTICES = "notices"
    LICENSED = "licensed"


def normalise(scheme: Scheme, code: str) -> str:
    """The code as the registry keeps it (8 digits; CPV's check digit dropped); ValueError."""
    if scheme is Scheme.UNSPSC:
        return unspsc.check_code(code.strip())
    return cpv.normalise(code)


def ancestors(scheme: Scheme, code: str) -> tuple[str, ...]:
    """The codes above `code`, nearest first."""
    return unspsc.ancestors(code) if scheme is Scheme.UNSPSC else cpv.ancestors(code)


def depth(scheme: Scheme, code: str) -> int:
    """1 at the top (a UNSPSC segment, a CPV division)."""
    return unspsc.depth(code) if scheme is Scheme.UNSPSC else cpv.depth(code)


def level_name(scheme: Scheme, code: str) -> str:
    """ "segment", "family", "class", "commodity"; or CPV's "division" ... "subcategory"."""
    if scheme is Scheme.UNSPSC:
        return unspsc.LEVELS[unspsc.depth(code) - 1]
    return cpv.level_name(code)


def significant(scheme: Scheme, code: str) -> str:
    """The digits that set the code's level: "421316" for UNSPSC class 42131600."""
    if scheme is Scheme.UNSPSC:
        return code[: unspsc.depth(code) * 2]
    return code[: cpv.significant_digits(code)]


def child_under(scheme: Scheme, parent: str | None, code: str) -> str | None:
    """The code one level below `parent` (the top level when None) on `code`'s branch, or
    None when `code` is not under `parent`."""
    chain = (code, *ancestors(scheme, code))
    if parent is None:
        wanted = 1
    elif parent in chain[1:]:
        wanted = depth(scheme, parent) + 1
    else:
        return None
    return next((c for c in chain if depth(scheme, c) == wanted), None)


def children(scheme: Scheme, parent: str | None, known: Iterable[str]) -> list[str]:
    """The distinct codes one level below `parent` that lead to one of the `known` codes."""
    found = {child for code in known if (child := child_under(scheme, parent, code)) is not None}
    return sorted(found)


@dataclass(frozen=True)
class TitleRow:
    code: str
    language: str
    title: str
    source: Source
    seen: int


def best_titles(rows: Iterable[TitleRow], language: str) -> dict[str, TitleRow]:
    """The title each code is shown with: one in the reader's language before any other; then
    the licensed list's before the notices'; then the one most notices carried."""

    def rank(row: TitleRow) -> tuple[bool, bool, int, str]:
        return (row.language != language, row.source is not Source.LICENSED, -row.seen, row.title)

    best: dict[str, TitleRow] = {}
    for row in rows:
        held = best.get(row.code)
        if held is None or rank(row) < rank(held):
            best[row.code] = row
    return best


@dataclass(frozen=True)
class Query:
    """What a search box asked: a code prefix, or words every title found must contain."""

    prefix: str | None
    words: tuple[str, ...]


_PREFIX = re.compile(r"[0-9]{1,8}")


def read_query(text: str) -> Query | None:
    """None when nothing is asked; "4213" and "45233162-2" are code prefixes."""
    cleaned = " ".join(text.split())[:MAX_QUERY]
    if not cleaned:
        return None
    digits = cleaned.split("-")[0].strip()
    if _PREFIX.fullmatch(digits):
        return Query(digits, ())
    words = tuple(dict.fromkeys(w for w in fold(cleaned).split() if w))[:8]
    return Query(None, words) if words else None


def clean_title(text: str | None) -> str | None:
    """A description fit to be a title: one plain line, at most MAX_TITLE characters."""
    if text is None:
        return None
    line = " ".join(text.split())
    if not line:
        return None
    try:
        check_line(line)
    except ValueError:
        return None
    if len(line) > MAX_TITLE:
        cut = line[:MAX_TITLE].rsplit(" ", 1)[0]
        line = f"{cut}…"
    return line


_SCHEME_NAMES = {"unspsc": Scheme.UNSPSC, "cpv": Scheme.CPV}


def titles_in(tender: TenderSnapshot) -> list[tuple[Scheme, str, str, str]]:
    """(scheme, code, language, title) for each UNSPSC or CPV classification of the tender
    that carries a usable description, once each."""
    language = supported(tender.language)
    if language is None:
        return []
    found: dict[tuple[Scheme, str, str, str], None] = {}
    for item in tender.classifications:
        scheme = _SCHEME_NAMES.get(item.scheme.strip().lower())
        title = clean_title(item.description)
        if scheme is None or title is None:
            continue
        try:
            code = normalise(scheme, item.code)
        except ValueError:
            continue
        found[(scheme, code, language, title)] = None
    return list(found)


# An operator's licensed list: CSV of code,title[,language].


@dataclass(frozen=True)
class LicensedTitle:
    code: str
    language: str
    title: str


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


@dataclass(frozen=True)
class ParsedList:
    titles: list[LicensedTitle]
    bad: list[BadRow]


def read_licensed_list(text: str, scheme: Scheme, default_language: str) -> ParsedList:
    """Every row of the CSV as a title, or as a bad row saying why; a first row whose code
    column is not a code ("code,title,language") is a header. A later row for the same code
    and language wins."""
    titles: dict[tuple[str, str], LicensedTitle] = {}
    bad: list[BadRow] = []
    for line, cells in _rows(text):
        if not any(c.strip() for c in cells):
            continue
        if line == 1 and cells and cells[0].strip().lower() in {"code", "id", "key"}:
            continue
        outcome = _licensed_row(cells, scheme, default_language)
        if isinstance(outcome, str):
            bad.append(BadRow(line, outcome))
        else:
            titles[(outcome.code, outcome.language)] = outcome
    return ParsedList(list(titles.values()), bad)


def _rows(text: str) -> Iterator[tuple[int, Sequence[str]]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as exc:
        yield reader.line_num, [f"\0{exc}"]


def _licensed_row(
    cells: Sequence[str], scheme: Scheme, default_language: str
) -> LicensedTitle | str:
    if cells and cells[0].startswith("\0"):
        return f"not CSV, reading stopped here: {cells[0][1:]}"
    if not 2 <= len(cells) <= 3:
        return f"expected code,title[,language], found {len(cells)} column(s)"
    try:
        code = normalise(scheme, cells[0])
    except ValueError as exc:
        return str(exc)
    asked = cells[2].strip() if len(cells) == 3 and cells[2].strip() else default_language
    language = supported(asked)
    if language is None or language != asked.lower():
        return f"language {asked[:20]!r} is not one of ar, en, es, fr, pt, ru, zh"
    title = clean_title(cells[1])
    if title is None:
        return "the title is empty, or not one line of plain text"
    return LicensedTitle(code, language, title)
