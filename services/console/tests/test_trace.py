"""`tw trace` and the tender page, from fixed rows: the order of cause and effect, the counts,
the problems, the summary and the exit code. No database: the rows are what
trace_evidence.gather_evidence would have read (tests/integration/test_trace.py reads them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tenderwire_console.read_models.trace import TenderTrace, trace_from_evidence, trace_tender
from tenderwire_console.read_models.trace_evidence import Evidence

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TENDER = "UNICEF-T-1"
SUPPLIER = "S-1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def revision(
    n: int, event_type: str, *, changes: Sequence[str] = (), reason: str | None = None
) -> dict[str, Any]:
    return {
        "revision": n,
        "event_type": event_type,
        "reason": reason,
        "changes": json.dumps([{"field": f} for f in changes]),
        "occurred_at": at(n),
    }


def event(
    event_id: str, event_type: str, rev: int, *, published: float | None, offset: int, **more: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": event_type,
        "topic": "tw.tenders" if event_type.startswith("tender.") else "tw.matches",
        "key": TENDER if event_type.startswith("tender.") else SUPPLIER,
        "created_at": at(rev),
        "published_at": None if published is None else at(published),
        "kafka_partition": None if published is None else 2,
        "kafka_offset": None if published is None else offset,
        "correlation_id": "corr-1",
        "revision": rev,
        **more,
    }


def consumed(row: dict[str, Any], consumer: str, handled: float) -> dict[str, Any]:
    return {
        "consumer": consumer,
        "event_id": row["event_id"],
        "topic": row["topic"],
        "partition": row["kafka_partition"],
        "offset": row["kafka_offset"],
        "handled_at": at(handled),
    }


def match(match_id: str, rev: int, kind: str, created: float) -> dict[str, Any]:
    return {
        "id": match_id,
        "supplier_id": SUPPLIER,
        "kind": kind,
        "revision": rev,
        "codes": ["42131600"],
        "still_matches": True,
        "created_at": at(created),
    }


def delivery(match_id: str, rev: int, state: str, *, error: str | None = None) -> dict[str, Any]:
    return {
        "id": f"d-{match_id}",
        "supplier_id": SUPPLIER,
        "revision": rev,
        "kind": "new" if rev == 1 else "amended",
        "channel": "email",
        "state": state,
        "attempts": 1,
        "last_error": error,
        "sent_at": at(30) if state == "sent" else None,
        "created_at": at(20),
        "updated_at": at(31),
        "next_attempt_at": at(60),
        "correlation_id": "corr-1",
        "match_id": match_id,
    }


def evidence(
    *,
    revisions: Sequence[dict[str, Any]],
    tender_events: Sequence[dict[str, Any]],
    matching_inbox: Sequence[dict[str, Any]] = (),
    matches: Sequence[dict[str, Any]] = (),
    match_events: Sequence[dict[str, Any]] = (),
    notify_inbox: Sequence[dict[str, Any]] = (),
    deliveries: Sequence[dict[str, Any]] = (),
) -> Evidence:
    last = revisions[-1]
    notice: Any = {
        "id": TENDER,
        "agency": "UNICEF",
        "title": "Isolation gowns",
        "status": last["event_type"].removeprefix("tender."),
        "revision": last["revision"],
    }
    rows: Any = {
        "revisions": list(revisions),
        "tender_events": list(tender_events),
        "matches": list(matches),
        "match_events": list(match_events),
        "deliveries": list(deliveries),
        "matching_inbox": {r["event_id"]: r for r in matching_inbox},
        "notify_inbox": {r["event_id"]: r for r in notify_inbox},
    }
    return Evidence(notice=notice, seen_by_matching=None, deactivated=set(), **rows)


def kinds(trace: TenderTrace) -> list[tuple[str, str]]:
    return [(s.service, s.kind) for s in trace.steps]


def delivered(state: str = "sent", error: str | None = None) -> Evidence:
    published = event("e1", "tender.published", 1, published=5, offset=7)
    announced = event("m1", "match.new", 1, published=12, offset=3, match_id="x1")
    return evidence(
        revisions=[revision(1, "tender.published")],
        tender_events=[published],
        # Matching handled it before the relay recorded Kafka's acknowledgement.
        matching_inbox=[consumed(published, "matching", 4)],
        matches=[match("x1", 1, "new", 10)],
        match_events=[announced],
        notify_inbox=[consumed(announced, "notify", 13)],
        deliveries=[delivery("x1", 1, state, error=error)],
    )


def test_a_delivered_tender_reads_from_revision_to_sent_mail_in_causal_order() -> None:
    trace = trace_from_evidence(TENDER, delivered())

    assert (trace.found, trace.problems, trace.exit_code()) == (True, [], 0)
    assert (trace.title, trace.agency, trace.status, trace.revision) == (
        "Isolation gowns",
        "UNICEF",
        "published",
        1,
    )
    assert kinds(trace) == [
        ("notices", "revision"),
        ("notices", "event_published"),
        ("matching", "event_consumed"),
        ("matching", "match"),
        ("matching", "event_published"),
        ("notify", "event_consumed"),
        ("notify", "delivery"),
    ]
    # Placed after its cause even though its clock says earlier; its own time is kept.
    consumed_step = trace.steps[2]
    assert consumed_step.at == at(4)
    assert consumed_step.summary == "matching consumed tender.published r1 from tw.tenders [2] @ 7"
    assert trace.steps[1].summary == "tender.published r1 published to tw.tenders [2] @ 7"
    assert trace.steps[4].summary == "match.new r1 for supplier S-1 published to tw.matches [2] @ 3"
    assert trace.counts == {
        "revisions": 1,
        "events": 1,
        "events_consumed": 1,
        "matches": 1,
        "suppliers_matched": 1,
        "match_events": 1,
        "deliveries": 1,
        "deliveries_sent": 1,
    }
    assert trace.summary == "published r1; 1 supplier(s) matched; 1 of 1 deliveries sent"


def test_a_failed_delivery_is_a_problem_with_its_error() -> None:
    trace = trace_from_evidence(TENDER, delivered("failed", "SMTP 550 no such mailbox"))

    assert trace.exit_code() == 3
    assert trace.problems == ["1 delivery failed: email to supplier S-1: SMTP 550 no such mailbox"]
    assert trace.steps[-1].summary == (
        "email new alert r1 to supplier S-1: failed after 1 attempt(s) (SMTP 550 no such mailbox)"
    )
    assert trace.summary.endswith("0 of 1 deliveries sent, 1 failed")


def test_a_delivery_not_sent_yet_is_not_done() -> None:
    trace = trace_from_evidence(TENDER, delivered("queued"))

    assert trace.exit_code() == 3
    assert trace.problems == ["1 delivery not sent yet: 1 queued"]
    assert "queued, due 2026-12-01 09:01:00 UTC" in trace.steps[-1].summary


def test_suppressed_and_superseded_deliveries_are_settled() -> None:
    for state in ("suppressed", "superseded", "delivered"):
        assert trace_from_evidence(TENDER, delivered(state)).exit_code() == 0, state


def test_an_event_matching_has_not_consumed_is_a_problem() -> None:
    published = event("e1", "tender.published", 1, published=5, offset=7)
    trace = trace_from_evidence(
        TENDER, evidence(revisions=[revision(1, "tender.published")], tender_events=[published])
    )

    assert trace.exit_code() == 3
    assert trace.problems == [
        "event e1 (tender.published r1) published to tw.tenders [2] @ 7 but not consumed by"
        " matching yet (lagging, stopped, or dead-lettered)"
    ]
    assert "matching consumed 0 of 1 event(s) so far" in trace.summary
    assert kinds(trace) == [("notices", "revision"), ("notices", "event_published")]


def test_an_event_still_in_the_outbox_asks_whether_the_relay_runs() -> None:
    waiting = event("e1", "tender.published", 1, published=None, offset=0)
    trace = trace_from_evidence(
        TENDER, evidence(revisions=[revision(1, "tender.published")], tender_events=[waiting])
    )

    (problem,) = trace.problems
    assert problem.startswith("the notices outbox has 1 unpublished event(s) for this tender")
    assert problem.endswith("is its outbox relay running?")
    assert trace.steps[-1].kind == "event_unpublished"
    assert trace.steps[-1].summary == "tender.published r1 waiting in the notices outbox"


def test_a_tender_nobody_matched_has_nothing_to_deliver() -> None:
    published = event("e1", "tender.published", 1, published=5, offset=7)
    trace = trace_from_evidence(
        TENDER,
        evidence(
            revisions=[revision(1, "tender.published")],
            tender_events=[published],
            matching_inbox=[consumed(published, "matching", 6)],
        ),
    )

    assert (trace.exit_code(), trace.problems) == (0, [])
    assert kinds(trace)[-1] == ("matching", "match")
    assert trace.steps[-1].summary == (
        "nobody matched: no active supplier's codes and filters fit this tender"
    )
    assert trace.summary == "published r1; nobody matched, nothing to deliver"


def test_a_tender_never_open_for_bids_says_so() -> None:
    closed = event("e1", "tender.closed", 1, published=5, offset=7)
    trace = trace_from_evidence(
        TENDER,
        evidence(
            revisions=[revision(1, "tender.closed")],
            tender_events=[closed],
            matching_inbox=[consumed(closed, "matching", 6)],
        ),
    )

    assert trace.steps[-1].summary == "nobody matched: never open for bids"
    assert trace.summary == "closed r1; nobody matched: never open for bids, nothing to deliver"


def test_an_amendment_names_what_changed_and_why() -> None:
    trace = trace_from_evidence(
        TENDER,
        evidence(
            revisions=[
                revision(1, "tender.published"),
                revision(2, "tender.amended", changes=["deadline"], reason="More time"),
            ],
            tender_events=[],
        ),
    )

    assert [s.summary for s in trace.steps] == [
        "r1 published",
        "r2 amended: deadline changed (More time)",
    ]


async def test_ids_no_database_can_hold_are_not_found_without_connecting() -> None:
    # Nothing listens on port 9: a trace that tried to connect would raise.
    dsns = ("postgresql://nobody@127.0.0.1:9/notices",) * 3
    for hostile in ("nul\x00byte", "lone \udcff surrogate"):
        trace = await trace_tender(*dsns, hostile)
        assert (trace.found, trace.exit_code(), trace.steps) == (False, 1, [])
        assert trace.summary.startswith("no tender ")
        # The echo can be written as JSON, as `tw trace --json` must.
        TenderTrace.model_validate_json(trace.model_dump_json())
    surrogate = await trace_tender(*dsns, "bad\udcffbyte")
    assert surrogate.tender_id == "bad\\udcffbyte"


async def test_a_long_id_is_cut_short_in_the_summary() -> None:
    dsns = ("postgresql://nobody@127.0.0.1:9/notices",) * 3
    trace = await trace_tender(*dsns, "\x00" + "x" * 20_000)
    assert len(trace.summary) < 200
    assert trace.summary.endswith("... in notices")
