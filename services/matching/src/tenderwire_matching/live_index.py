"""The matching index of this process, brought up to date from the registry's change log.

Each replica keeps its own MatchIndex. Before matching, it replays the supplier changes it
has not applied yet, so it never matches on a profile older than the database's. Every
writer of the change log holds the matching lock (`repository.matching_lock`), so sequence
numbers commit in order and replaying "everything after the last seen" misses nothing.
"""

from __future__ import annotations

import time

import structlog

from tenderwire_matching import repository
from tenderwire_matching.domain.index import MatchIndex
from tenderwire_shared.db import Connection

log = structlog.get_logger()


class LiveIndex:
    def __init__(self, levels: int, cpv_levels: int | None = None) -> None:
        self.index = MatchIndex(levels, cpv_levels)
        self.applied_seq = 0

    async def load(self, conn: Connection) -> None:
        """Index every active supplier, from one consistent snapshot of the registry (afresh:
        an app started again loads into the same LiveIndex)."""
        started = time.perf_counter()
        index = MatchIndex(self.index.levels, self.index.cpv_levels)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            seq = await repository.latest_change(conn)
            for r in await repository.all_active(conn):
                index.upsert(repository.profile(r))
        self.index, self.applied_seq = index, seq
        log.info(
            "index_loaded",
            indexed=len(self.index),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )

    async def catch_up(self, conn: Connection) -> int:
        """Apply the changes logged since the last call; returns how many suppliers changed."""
        started = time.perf_counter()
        changes = await repository.changes_since(conn, self.applied_seq)
        if not changes:
            return 0
        supplier_ids = list(dict.fromkeys(r["supplier_id"] for r in changes))
        for r in await repository.rows(conn, supplier_ids):
            if r["active"]:
                self.index.upsert(repository.profile(r))
            else:
                self.index.remove(r["id"])
        self.applied_seq = changes[-1]["seq"]
        if len(supplier_ids) > 100:
            log.info(
                "index_caught_up",
                suppliers=len(supplier_ids),
                indexed=len(self.index),
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return len(supplier_ids)
