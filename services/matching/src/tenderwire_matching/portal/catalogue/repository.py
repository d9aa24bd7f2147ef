"""The code catalogue's SQL (`code_titles`): functions of a connection or the pool."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import asyncpg

from tenderwire_matching.domain.matching import fold
from tenderwire_matching.portal.catalogue.domain import (
    LicensedTitle,
    Query,
    Scheme,
    Source,
    TitleRow,
)
from tenderwire_shared.db import Connection

Db: TypeAlias = "Connection | asyncpg.Pool"


def _rows(records: Sequence[asyncpg.Record]) -> list[TitleRow]:
    return [
        TitleRow(r["code"], r["language"], r["title"], Source(r["source"]), r["seen"])
        for r in records
    ]


async def count_seen(db: Db, titles: Sequence[tuple[Scheme, str, str, str]]) -> None:
    """One more notice carried each (scheme, code, language, title)."""
    if not titles:
        return
    await db.execute(
        "INSERT INTO code_titles (scheme, code, language, title, source, seen, folded)"
        " SELECT t.scheme, t.code, t.language, t.title, 'notices', 1, t.folded"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
        " AS t(scheme, code, language, title, folded)"
        " ON CONFLICT (scheme, code, language, source, title)"
        " DO UPDATE SET seen = code_titles.seen + 1, updated_at = now()",
        [s.value for s, _, _, _ in titles],
        [c for _, c, _, _ in titles],
        [lang for _, _, lang, _ in titles],
        [t for _, _, _, t in titles],
        [fold(t) for _, _, _, t in titles],
    )


async def put_licensed(
    db: Connection, scheme: Scheme, titles: Sequence[LicensedTitle], *, replace: bool
) -> int:
    """The licensed titles, each replacing that code's licensed title in its language; with
    `replace`, every other licensed title of the scheme goes too. Returns how many are kept."""
    if replace:
        await db.execute(
            "DELETE FROM code_titles WHERE scheme = $1 AND source = 'licensed'", scheme.value
        )
    else:
        await db.execute(
            "DELETE FROM code_titles c USING unnest($2::text[], $3::text[]) AS t(code, language)"
            " WHERE c.scheme = $1 AND c.source = 'licensed' AND c.code = t.code"
            " AND c.language = t.language",
            scheme.value,
            [t.code for t in titles],
            [t.language for t in titles],
        )
    await db.execute(
        "INSERT INTO code_titles (scheme, code, language, title, source, seen, folded)"
        " SELECT $1, t.code, t.language, t.title, 'licensed', 0, t.folded"
        " FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])"
        " AS t(code, language, title, folded)",
        scheme.value,
        [t.code for t in titles],
        [t.language for t in titles],
        [t.title for t in titles],
        [fold(t.title) for t in titles],
    )
    return len(titles)


async def counts(db: Db) -> list[asyncpg.Record]:
    """(scheme, source, codes, titles, languages) per scheme and source."""
    return await db.fetch(
        "SELECT scheme, source, count(DISTINCT code) AS codes, count(*) AS titles,"
        " array_agg(DISTINCT language ORDER BY language) AS languages"
        " FROM code_titles GROUP BY scheme, source ORDER BY scheme, source"
    )


async def titles_of(db: Db, scheme: Scheme, codes: Sequence[str]) -> list[TitleRow]:
    records = await db.fetch(
        "SELECT code, language, title, source, seen FROM code_titles"
        " WHERE scheme = $1 AND code = ANY($2::text[])",
        scheme.value,
        list(codes),
    )
    return _rows(records)


async def search(db: Db, scheme: Scheme, query: Query, limit: int) -> list[str]:
    """The codes whose number starts with the prefix, or one of whose titles holds every
    word; the shallowest and most seen first."""
    if query.prefix is not None:
        records = await db.fetch(
            "SELECT code FROM code_titles WHERE scheme = $1 AND code LIKE $2 || '%'"
            " GROUP BY code ORDER BY code LIMIT $3",
            scheme.value,
            query.prefix,
            limit,
        )
    else:
        patterns = ["%" + _like_escape(w) + "%" for w in query.words]
        records = await db.fetch(
            "SELECT code FROM code_titles WHERE scheme = $1"
            " AND folded LIKE ALL ($2::text[])"
            " GROUP BY code ORDER BY bool_or(source = 'licensed') DESC, sum(seen) DESC, code"
            " LIMIT $3",
            scheme.value,
            patterns,
            limit,
        )
    return [r["code"] for r in records]


async def codes_under(db: Db, scheme: Scheme, prefix: str) -> list[str]:
    """Every code with a title whose number starts with `prefix` ("" for all)."""
    records = await db.fetch(
        "SELECT DISTINCT code FROM code_titles WHERE scheme = $1 AND code LIKE $2 || '%'",
        scheme.value,
        prefix,
    )
    return [r["code"] for r in records]


async def prefixes_under(db: Db, scheme: Scheme, prefix: str, width: int) -> list[str]:
    """The distinct first `width` digits of the codes starting with `prefix`: one level of
    a hierarchy whose levels are fixed widths, without reading every code below it."""
    records = await db.fetch(
        "SELECT DISTINCT left(code, $3) AS head FROM code_titles"
        " WHERE scheme = $1 AND code LIKE $2 || '%'",
        scheme.value,
        prefix,
        width,
    )
    return [r["head"] for r in records]


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
