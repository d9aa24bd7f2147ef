"""`tw events tail` and the live feed without Kafka: what a record reads as, which events a
filter keeps, the feed page's parameters and the server-sent stream a browser reads."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenderwire_console.read_models.event_feed import (
    MAIN_TOPICS,
    NOT_AN_ENVELOPE,
    FeedEvent,
    FeedFilter,
    feed_event,
    glob_matches,
)
from tenderwire_console.web.feed import feed_filter, server_sent
from tenderwire_shared import topics


@dataclass
class FakeRecord:
    topic: str
    value: bytes | None
    key: bytes | None = None
    partition: int = 0
    offset: int = 0
    timestamp: int = 1_764_579_600_000
    headers: tuple[tuple[str, bytes], ...] = ()


def envelope(type_: str, data: dict[str, Any], **more: Any) -> bytes:
    return json.dumps(
        {"id": "e-1", "type": type_, "source": "tests", "subject": "s", "data": data, **more}
    ).encode()


def test_a_record_that_is_not_an_envelope_is_shown_for_what_it_is() -> None:
    garbage = feed_event(FakeRecord("tw.tenders", b"\x00\xff{[bold]", key=b"\xfe\xff"))
    assert garbage.event_type == NOT_AN_ENVELOPE
    assert garbage.event_id == ""
    assert garbage.key == "\ufffd\ufffd"
    assert garbage.data["value"] == "\x00\ufffd{[bold]"
    assert garbage.data["error"]
    long = feed_event(FakeRecord("tw.tenders", b"x" * 10_000))
    assert len(long.data["value"]) == 500


def test_an_envelope_names_its_tender_supplier_and_correlation() -> None:
    tender = feed_event(
        FakeRecord(
            "tw.tenders",
            envelope("tender.published", {"tender": {"tender_id": "T-1"}}, correlationid="c-1"),
            partition=2,
            offset=7,
        )
    )
    match = feed_event(
        FakeRecord(
            "tw.matches",
            envelope("match.new", {"tender": {"tender_id": "T-1"}, "supplier_id": "S-1"}),
        )
    )
    assert (tender.event_type, tender.tender_id, tender.correlation_id) == (
        "tender.published",
        "T-1",
        "c-1",
    )
    assert (tender.partition, tender.offset) == (2, 7)
    assert (match.tender_id, match.supplier_id) == ("T-1", "S-1")


def an_event(topic: str, type_: str, tender_id: str | None, supplier_id: str | None) -> FeedEvent:
    return FeedEvent(
        topic=topic,
        partition=0,
        offset=0,
        timestamp=datetime(2026, 12, 1, tzinfo=UTC),
        key=None,
        event_id="e",
        event_type=type_,
        subject="",
        correlation_id=None,
        tender_id=tender_id,
        supplier_id=supplier_id,
        data={},
    )


def test_a_filter_keeps_what_every_criterion_allows() -> None:
    match = an_event("p.matches", "match.new", "T-1", "S-1")
    wanted = FeedFilter(types=["match.*", "x.*"], tender_id="T-1", supplier_id="S-1")
    assert wanted.matches(match, "p.")
    assert not FeedFilter(types=["tender.*"]).matches(match, "p.")
    assert not FeedFilter(tender_id="T-2").matches(match, "p.")
    assert not FeedFilter(supplier_id="S-2").matches(match, "p.")
    assert not FeedFilter(topics=["tenders"]).matches(match, "p.")
    assert FeedFilter(topics=["match*"]).matches(match, "p.")
    assert not FeedFilter(topics=["matches"]).matches(match, "other.")


def test_dead_letter_and_internal_topics_are_read_only_when_named() -> None:
    everything = FeedFilter()
    assert all(everything.wants_topic(t) for t in MAIN_TOPICS)
    assert not everything.wants_topic(f"{topics.TENDERS}.matching.dlt")
    assert FeedFilter(topics=["*.dlt"]).wants_topic(f"{topics.TENDERS}.matching.dlt")
    assert not FeedFilter(topics=["*"]).wants_topic("__consumer_offsets")


def test_a_glob_takes_only_the_star_as_special() -> None:
    assert glob_matches("tender.*", "tender.published")
    assert not glob_matches("tender.?", "tender.x")
    assert glob_matches("a.b", "a.b")
    assert not glob_matches("a.b", "axb")


def test_the_feed_page_takes_repeated_or_comma_separated_values() -> None:
    chosen = feed_filter(["tenders, matches", " "], ["tender.*"], "  T-1 ", " ")
    assert chosen == FeedFilter(
        topics=["tenders", "matches"], types=["tender.*"], tender_id="T-1", supplier_id=None
    )


def tail_of(*items: FeedEvent | Exception) -> Callable[..., AsyncGenerator[FeedEvent, None]]:
    async def tail(*, on_ready: Callable[[list[str]], None]) -> AsyncGenerator[FeedEvent, None]:
        on_ready(["p.tenders"])
        for item in items:
            if isinstance(item, Exception):
                raise item
            yield item

    return tail


async def test_the_stream_says_ready_then_sends_each_event_with_contacts_masked() -> None:
    event = an_event("p.tenders", "tender.published", "T-1", None)
    event.data = {"contact": "buyer@example.org"}
    pumps: set[Any] = set()
    stream = server_sent(tail_of(event, RuntimeError("broker gone")), pumps)

    messages = [message async for message in stream]

    assert messages[0] == "retry: 3000\n\n"
    assert messages[1] == 'event: ready\ndata: {"topics": ["p.tenders"]}\n\n'
    lines = messages[2].splitlines()
    assert lines[0] == "id: p.tenders:0:0"
    shown = json.loads(lines[1].removeprefix("data: "))
    assert (shown["type"], shown["tender_id"], shown["at"]) == (
        "tender.published",
        "T-1",
        "2026-12-01T00:00:00Z",
    )
    assert "buyer@example.org" not in shown["data"]
    # A failing tail ends the stream with the reason; the browser reconnects.
    assert messages[3] == 'event: problem\ndata: {"error": "RuntimeError: broker gone"}\n\n'
    assert len(messages) == 4
