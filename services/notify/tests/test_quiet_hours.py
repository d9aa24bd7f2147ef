from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from tenderwire_notify.quiet_hours import deferred_until
from tenderwire_shared.events.matches import QuietHours

NIGHT = QuietHours(start=time(22, 0), end=time(7, 0))
LUNCH = QuietHours(start=time(12, 0), end=time(14, 0))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "quiet", "expected"),
    [
        # Dakar is UTC+0 all year.
        (at(10, 21, 59), NIGHT, at(10, 21, 59)),
        (at(10, 22), NIGHT, at(11, 7)),
        (at(11, 3), NIGHT, at(11, 7)),
        (at(11, 7), NIGHT, at(11, 7)),
        (at(11, 13), LUNCH, at(11, 14)),
        (at(11, 13), None, at(11, 13)),
    ],
)
def test_alerts_inside_quiet_hours_wait_for_their_end(
    now: datetime, quiet: QuietHours | None, expected: datetime
) -> None:
    assert deferred_until(now, "Africa/Dakar", quiet) == expected


def test_a_daylight_saving_change_inside_the_quiet_hours_moves_their_end_by_an_hour() -> None:
    # Santiago leaves summer time at 00:00 on 4 April 2027 (UTC-3 -> UTC-4): 07:00 local
    # that morning is 11:00 UTC, not the 10:00 that the evening's offset would give.
    evening = datetime(2027, 4, 4, 2, 30, tzinfo=UTC)  # 23:30 on 3 April, UTC-3
    assert deferred_until(evening, "America/Santiago", NIGHT) == datetime(
        2027, 4, 4, 11, 0, tzinfo=UTC
    )
