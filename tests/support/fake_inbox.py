"""A stand-in for a consumer's pool: the inbox insert runs against a set, and a transaction
that raises leaves no row and no effect, as PostgreSQL's would. For fast-tier consumer tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FakeTransaction:
    def __init__(self, conn: FakeConnection) -> None:
        self._conn = conn

    async def __aenter__(self) -> None:
        self._conn.staged = set()

    async def __aexit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self._conn.inbox.committed |= self._conn.staged
            self._conn.inbox.effects.extend(self._conn.effects)
        self._conn.staged, self._conn.effects = set(), []


class FakeConnection:
    """Runs the inbox insert against a set; a rolled-back transaction leaves no row."""

    def __init__(self, inbox: FakeInbox) -> None:
        self.inbox = inbox
        self.staged: set[str] = set()
        self.effects: list[str] = []

    def transaction(self) -> FakeTransaction:
        return FakeTransaction(self)

    async def fetch(self, sql: str, group: str, ids: list[str], *_: object) -> list[dict[str, str]]:
        assert "INSERT INTO inbox" in sql
        fresh = [i for i in ids if i not in self.inbox.committed and i not in self.staged]
        self.staged |= set(fresh)
        return [{"event_id": i} for i in fresh]


class FakeInbox:
    """What a pool's database holds: committed inbox rows and the effects that came with them."""

    def __init__(self) -> None:
        self.committed: set[str] = set()
        self.effects: list[str] = []

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield FakeConnection(self)
