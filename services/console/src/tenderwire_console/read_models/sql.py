"""What the read models' SQL shares: where it reads from, and LIKE patterns."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

from tenderwire_shared.db import Connection

# A pool or one connection: the console passes its pools, a script may pass a connection.
Database: TypeAlias = "Connection | asyncpg.Pool"


def like_pattern(text: str) -> str:
    """`text` anywhere, with LIKE's own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
