"""Quiet hours: an immediate alert that falls inside them waits for their end, local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tenderwire_shared.events.matches import QuietHours


def deferred_until(now: datetime, timezone_name: str, quiet: QuietHours | None) -> datetime:
    """`now` itself, or the end of the quiet period it falls in, as an aware UTC time.

    The end is built as a local wall-clock time and converted by the zone's rules, so a
    daylight-saving change inside the quiet period moves it by the right hour.
    """
    if quiet is None or quiet.start == quiet.end:
        return now
    zone = ZoneInfo(timezone_name)
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        inside = quiet.start <= moment < quiet.end
        end_day = local.date()
    else:  # over midnight, e.g. 22:00 to 07:00
        inside = moment >= quiet.start or moment < quiet.end
        end_day = local.date() + timedelta(days=1) if moment >= quiet.start else local.date()
    if not inside:
        return now
    return datetime.combine(end_day, quiet.end, tzinfo=zone).astimezone(UTC)
