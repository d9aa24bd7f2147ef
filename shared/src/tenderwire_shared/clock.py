"""Time, injected wherever it matters (deadlines, digests, quiet hours) so tests control it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Real time shifted by an offset that tests move, so time still passes between steps
    while a test can jump past a deadline or to tomorrow's digest hour."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def reset(self) -> None:
        self._offset = timedelta(0)

    def jump_to(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("jump_to needs an aware datetime")
        self._offset = moment - datetime.now(UTC)
