"""A tender's deadline as an iCalendar (RFC 5545) event, for a reader's calendar.

One event per tender: its UID never changes and its SEQUENCE is the tender's revision, so a
calendar that imports the file again after an amendment moves the event rather than adding a
second one, and one that imports it after a cancellation marks it cancelled (STATUS:CANCELLED).
A closed or awarded tender has no deadline left to keep: its .ics answers 410 (pages.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Alarm, Calendar, Event

from tenderwire_shared.events.tenders import TenderSnapshot, TenderStatus

PRODUCT_ID = "-//Tenderwire//Tender deadline//EN"
# A day is what a small firm needs to finish and send a bid it has already prepared.
REMINDER_BEFORE = timedelta(days=1)


def event_uid(tender_id: str, public_base_url: str) -> str:
    host = urlsplit(public_base_url).hostname or "tenderwire"
    return f"tender-{tender_id}@{host}"


def deadline_calendar(
    tender: TenderSnapshot,
    *,
    page_url: str,
    public_base_url: str,
    stamp: datetime,
    summary: str,
    reminder: str,
    description: str,
) -> bytes:
    """The calendar file; `stamp` is when this revision was made (DTSTAMP), so the same
    revision always gives the same bytes. `summary`, `reminder` and `description` are the
    words shown, already in the reader's language and cleaned of bidirectional controls."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")

    event = Event()
    event.add("uid", event_uid(tender.tender_id, public_base_url))
    event.add("dtstamp", stamp)
    event.add("dtstart", tender.deadline)
    # No DTEND: a deadline is a moment, and RFC 5545 3.6.1 reads an event without one as
    # ending when it starts.
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", page_url)
    event.add("sequence", tender.revision)
    event.add("transp", "TRANSPARENT")
    cancelled = tender.status is TenderStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", reminder)
        alarm.add("trigger", -REMINDER_BEFORE)
        event.add_component(alarm)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
