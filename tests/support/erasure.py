"""Where a contact detail is still kept: every column of a database that can hold words."""

from __future__ import annotations

import asyncpg

# Text, JSON, text arrays and bytes (an outbox record's value): a contact detail could hide in
# any of them.
_SEARCHABLE = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public'
  AND (data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea')
       OR (data_type = 'ARRAY' AND udt_name IN ('_text', '_varchar')))
ORDER BY table_name, column_name
"""


async def where_found(dsn: str, needles: list[str]) -> list[tuple[str, str, str]]:
    """Each (table, column, needle) where a needle appears, compared without case and as
    plain text (strpos, so `_` or `%` in an address is no wildcard)."""
    conn = await asyncpg.connect(dsn)
    try:
        found = []
        for column in await conn.fetch(_SEARCHABLE):
            table, name = column["table_name"], column["column_name"]
            text = (
                f"convert_from(\"{name}\", 'UTF8')"
                if column["data_type"] == "bytea"
                else f'"{name}"::text'
            )
            for needle in needles:
                hit = await conn.fetchval(
                    f'SELECT true FROM "{table}" WHERE strpos(lower({text}), lower($1)) > 0'  # noqa: S608 - names from information_schema
                    " LIMIT 1",
                    needle,
                )
                if hit:
                    found.append((table, name, needle))
        return found
    finally:
        await conn.close()


async def tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT table_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        )
        return {r["table_name"] for r in rows}
    finally:
        await conn.close()
