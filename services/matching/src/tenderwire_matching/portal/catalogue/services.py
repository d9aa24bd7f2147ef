"""The code catalogue's use cases: learning titles from tenders, loading a licensed list, and
what the code picker reads (titles, search, one level of the hierarchy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from tenderwire_matching.portal.catalogue import repository
from tenderwire_matching.portal.catalogue.domain import (
    ParsedList,
    Query,
    Scheme,
    TitleRow,
    best_titles,
    children,
    depth,
    level_name,
    read_licensed_list,
    significant,
    titles_in,
)
from tenderwire_shared.db import Connection, unit_of_work
from tenderwire_shared.events.tenders import TenderSnapshot


async def learn_from(conn: Connection, tender: TenderSnapshot) -> None:
    """Count the item descriptions this tender carries beside its codes (inside the tender's
    inbox transaction, so a redelivered event counts nothing twice)."""
    await repository.count_seen(conn, titles_in(tender))


async def load_licensed(
    pool: asyncpg.Pool,
    scheme: Scheme,
    text: str,
    *,
    default_language: str,
    replace: bool,
) -> ParsedList:
    """Read an operator's CSV and store its good rows in one transaction; the bad ones are
    returned with the reason, and stored nowhere."""
    parsed = read_licensed_list(text, scheme, default_language)
    async with unit_of_work(pool) as conn:
        await repository.put_licensed(conn, scheme, parsed.titles, replace=replace)
    return parsed


@dataclass(frozen=True)
class CodeEntry:
    """A code as the picker shows it; `title` None when no notice or list named it."""

    scheme: Scheme
    code: str
    level: str
    digits: str
    title: str | None
    title_language: str | None


class Catalogue:
    """What the code picker reads, from the pool."""

    def __init__(self, db: repository.Db) -> None:
        self._db = db

    async def describe(
        self, scheme: Scheme, codes: Sequence[str], language: str
    ) -> list[CodeEntry]:
        """Each code with its best title, in the order given."""
        best = best_titles(await repository.titles_of(self._db, scheme, codes), language)
        return [_entry(scheme, code, best.get(code)) for code in codes]

    async def search(
        self, scheme: Scheme, query: Query, language: str, limit: int = 50
    ) -> list[CodeEntry]:
        found = await repository.search(self._db, scheme, query, limit)
        return await self.describe(scheme, found, language)

    async def below(self, scheme: Scheme, parent: str | None, language: str) -> list[CodeEntry]:
        """The codes one level below `parent` (the top level when None) that lead to a code
        with a title."""
        prefix = "" if parent is None else significant(scheme, parent)
        if parent is None or scheme is Scheme.UNSPSC:
            # The top level of both, and every UNSPSC level, is a fixed number of digits: a
            # licensed list's 150,000 codes need not be read to list a few dozen.
            width = 2 if parent is None else 2 * (depth(scheme, parent) + 1)
            heads = await repository.prefixes_under(self._db, scheme, prefix, width)
            known = [head.ljust(8, "0") for head in heads]
        else:
            known = await repository.codes_under(self._db, scheme, prefix)
        return await self.describe(scheme, children(scheme, parent, known), language)


def _entry(scheme: Scheme, code: str, title: TitleRow | None) -> CodeEntry:
    return CodeEntry(
        scheme=scheme,
        code=code,
        level=level_name(scheme, code),
        digits=significant(scheme, code),
        title=title.title if title else None,
        title_language=title.language if title else None,
    )
