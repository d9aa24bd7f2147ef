"""`tw trace TENDER`: everything that happened to one tender, across the three services.

Reads notices', matching's and notify's databases (read-only) and lines the evidence up in
time: each revision, each event with where it landed in Kafka and who consumed it, each match,
each delivery. Events are followed by id: matching's inbox holds the ids of the tender events it
consumed and notify's those of the match events, so an event with no inbox row is still on its
way (or was dead-lettered).

`TenderTrace.exit_code()`, also the command's exit code:
  0  every alert was delivered (sent, delivered, or suppressed on purpose), or nobody matched;
  1  notices has no such tender;
  3  something failed or has not finished: an event still in an outbox or not consumed yet,
     a delivery failed, or one not sent yet (queued, batched for a digest, sending).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from tenderwire_console.read_models.trace_evidence import (
    Evidence,
    connected,
    gather_evidence,
)

NOT_FOUND = 1
NOT_DONE = 3


REACHED = frozenset({"sent", "delivered"})
# Not sent by decision (unsubscribed, bounced before, supplier deactivated, or folded into a
# later revision of the same tender): nothing to chase.
SETTLED = REACHED | {"suppressed", "superseded"}
# The states a summary names after the sent ones, in this order.
_NOT_REACHED = ("failed", "suppressed", "queued", "batched", "sending")


class TraceStep(BaseModel):
    at: datetime
    service: str
    kind: str
    summary: str
    event_id: str | None = None
    event_type: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    supplier_id: str | None = None
    state: str | None = None
    attempts: int | None = None
    error: str | None = None
    correlation_id: str | None = None
    revision: int | None = None
    channel: str | None = None
    consumer: str | None = None


class TenderTrace(BaseModel):
    tender_id: str
    found: bool
    title: str | None = None
    agency: str | None = None
    status: str | None = None
    revision: int | None = None
    # Chronological, except that an effect never comes before its cause (see _Timeline).
    steps: list[TraceStep] = Field(default_factory=list)
    counts: dict[str, int] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)
    summary: str = ""

    def exit_code(self) -> int:
        """0 done or nothing to do, 1 no such tender, 3 failed or not finished (module doc)."""
        if not self.found:
            return NOT_FOUND
        return NOT_DONE if self.problems else 0


class _Timeline:
    """Steps in the order of cause and effect, otherwise by time.

    The clocks cannot always tell: the outbox relay records an event as published only after
    Kafka acknowledged it, by when a consumer may have handled it; a revision is timed by the
    application's clock, its outbox row by the database's transaction start. So each step is
    placed no earlier than the step that caused it, and added after it (ties keep that order).
    """

    def __init__(self) -> None:
        self._entries: list[tuple[datetime, int, TraceStep]] = []
        self._placed: dict[str, datetime] = {}

    def add(self, step: TraceStep, *, key: str | None = None, after: Sequence[str] = ()) -> None:
        placed = max([step.at, *(self._placed[k] for k in after if k in self._placed)])
        self._entries.append((placed, len(self._entries), step))
        if key is not None:
            self._placed[key] = placed

    def steps(self) -> list[TraceStep]:
        return [step for *_, step in sorted(self._entries, key=lambda e: (e[0], e[1]))]


async def trace_tender(
    notices_dsn: str, matching_dsn: str, notify_dsn: str, tender_id: str
) -> TenderTrace:
    """Raises DatabaseUnreachableError when a database cannot be reached."""
    if not _storable(tender_id):
        # No id with a NUL or an unencodable character can ever have been stored. The echo is
        # escaped: a lone surrogate (undecodable bytes from argv) cannot be written as JSON.
        shown = tender_id.encode("utf-8", "backslashreplace").decode()
        return TenderTrace(tender_id=shown, found=False, summary=_not_found(tender_id))
    async with connected(notices=notices_dsn, matching=matching_dsn, notify=notify_dsn) as (
        notices,
        matching,
        notify,
    ):
        evidence = await gather_evidence(notices, matching, notify, tender_id)
    if evidence.notice is None:
        elsewhere = bool(evidence.seen_by_matching or evidence.matches or evidence.deliveries)
        summary = _not_found(tender_id) + (
            "; matching or notify know it, so check the notices database URL" if elsewhere else ""
        )
        return TenderTrace(tender_id=tender_id, found=False, summary=summary)
    return trace_from_evidence(tender_id, evidence)


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates, e.g. undecodable bytes from argv
        return False
    return True


def _not_found(tender_id: str) -> str:
    shown = repr(tender_id)
    return f"no tender {shown if len(shown) <= 80 else shown[:77] + '...'} in notices"


def trace_from_evidence(tender_id: str, ev: Evidence) -> TenderTrace:
    assert ev.notice is not None
    timeline = _Timeline()
    _add_revisions(timeline, ev)
    _add_events(
        timeline,
        ev.tender_events,
        ev.matching_inbox,
        producer="notices",
        to="matching",
        cause=lambda e: f"revision:{e['revision']}",
    )
    _add_matches(timeline, ev)
    _add_events(
        timeline,
        ev.match_events,
        ev.notify_inbox,
        producer="matching",
        to="notify",
        cause=lambda e: f"match:{e['match_id']}",
    )
    _add_deliveries(timeline, ev)
    states = Counter(d["state"] for d in ev.deliveries)
    counts = {
        "revisions": len(ev.revisions),
        "events": len(ev.tender_events),
        "events_consumed": sum(e["event_id"] in ev.matching_inbox for e in ev.tender_events),
        "matches": len(ev.matches),
        "suppliers_matched": len({m["supplier_id"] for m in ev.matches}),
        "match_events": len(ev.match_events),
        "deliveries": len(ev.deliveries),
        **{f"deliveries_{state}": n for state, n in sorted(states.items())},
    }
    return TenderTrace(
        tender_id=tender_id,
        found=True,
        title=ev.notice["title"],
        agency=ev.notice["agency"],
        status=ev.notice["status"],
        revision=ev.notice["revision"],
        steps=timeline.steps(),
        counts=counts,
        problems=_problems(ev),
        summary=_summary(ev, counts, states),
    )


def _add_revisions(timeline: _Timeline, ev: Evidence) -> None:
    for r in ev.revisions:
        changes: list[dict[str, Any]] = json.loads(r["changes"])
        what = r["event_type"].removeprefix("tender.")
        if changes:
            what += f": {', '.join(c['field'] for c in changes)} changed"
        if r["reason"]:
            what += f" ({r['reason']})"
        step = TraceStep(
            at=r["occurred_at"],
            service="notices",
            kind="revision",
            summary=f"r{r['revision']} {what}",
            event_type=r["event_type"],
            revision=r["revision"],
        )
        timeline.add(step, key=f"revision:{r['revision']}", after=[f"revision:{r['revision'] - 1}"])


def _where(topic: str, partition: int | None, offset: int | None) -> str:
    return f"{topic} [{partition}] @ {offset}"


def _add_events(
    timeline: _Timeline,
    events: Sequence[asyncpg.Record],
    inbox: dict[str, asyncpg.Record],
    *,
    producer: str,
    to: str,
    cause: Callable[[asyncpg.Record], str],
) -> None:
    """Each event as its producer left it, then its consumer's inbox row, if any."""
    for e in events:
        about = f"{e['event_type']} r{e['revision']}" + (
            f" for supplier {e['key']}" if producer == "matching" else ""
        )
        common: dict[str, Any] = {
            "event_id": e["event_id"],
            "event_type": e["event_type"],
            "topic": e["topic"],
            "correlation_id": e["correlation_id"],
            "revision": e["revision"],
            "supplier_id": e["key"] if producer == "matching" else None,
        }
        key = f"event:{e['event_id']}"
        if e["published_at"] is None:
            waiting = TraceStep(
                at=e["created_at"],
                service=producer,
                kind="event_unpublished",
                summary=f"{about} waiting in the {producer} outbox",
                **common,
            )
            timeline.add(waiting, key=key, after=[cause(e)])
            continue
        published = TraceStep(
            at=e["published_at"],
            service=producer,
            kind="event_published",
            summary=f"{about} published to "
            + _where(e["topic"], e["kafka_partition"], e["kafka_offset"]),
            partition=e["kafka_partition"],
            offset=e["kafka_offset"],
            **common,
        )
        timeline.add(published, key=key, after=[cause(e)])
        consumed = inbox.get(e["event_id"])
        if consumed is not None:
            step = TraceStep(
                at=consumed["handled_at"],
                service=to,
                kind="event_consumed",
                summary=f"{_consumer(to, consumed['consumer'])} consumed {about} from "
                + _where(consumed["topic"], consumed["partition"], consumed["offset"]),
                partition=consumed["partition"],
                offset=consumed["offset"],
                consumer=consumed["consumer"],
                **{**common, "topic": consumed["topic"]},
            )
            timeline.add(step, key=f"consumed:{e['event_id']}", after=[key])


def _consumer(service: str, group: str) -> str:
    return service if group == service else f"{service} ({group})"


def _add_matches(timeline: _Timeline, ev: Evidence) -> None:
    # Alerts for revision r were decided while matching handled the event carrying r.
    handled = {e["revision"]: f"consumed:{e['event_id']}" for e in ev.tender_events}
    for m in ev.matches:
        codes = ", ".join(m["codes"]) or "no code"
        still = "" if m["still_matches"] else "; no longer matches, told anyway"
        step = TraceStep(
            at=m["created_at"],
            service="matching",
            kind="match",
            summary=f"matched supplier {m['supplier_id']}: {m['kind']} alert for"
            f" r{m['revision']} (codes {codes}{still})",
            supplier_id=m["supplier_id"],
            revision=m["revision"],
        )
        cause = [handled[m["revision"]]] if m["revision"] in handled else []
        timeline.add(step, key=f"match:{m['id']}", after=cause)
    if not ev.matches and ev.tender_events and _all_consumed(ev):
        last = max(ev.matching_inbox.values(), key=lambda r: r["handled_at"])
        nobody = TraceStep(
            at=last["handled_at"],
            service="matching",
            kind="match",
            summary=(
                "nobody matched: no active supplier's codes and filters fit this tender"
                if _was_open(ev)
                else _nobody(ev)
            ),
        )
        timeline.add(nobody, after=list(handled.values()))


def _add_deliveries(timeline: _Timeline, ev: Evidence) -> None:
    announced = {e["match_id"]: f"consumed:{e['event_id']}" for e in ev.match_events}
    for d in ev.deliveries:
        done = f"{d['state']} after {d['attempts']} attempt(s)"
        if d["state"] in ("queued", "batched"):
            done = f"{d['state']}, due {d['next_attempt_at']:%Y-%m-%d %H:%M:%S %Z}"
        step = TraceStep(
            at=d["sent_at"] or d["updated_at"],
            service="notify",
            kind="delivery",
            summary=f"{d['channel']} {d['kind']} alert r{d['revision']} to supplier"
            f" {d['supplier_id']}: {done}" + (f" ({d['last_error']})" if d["last_error"] else ""),
            supplier_id=d["supplier_id"],
            state=d["state"],
            attempts=d["attempts"],
            error=d["last_error"],
            correlation_id=d["correlation_id"],
            revision=d["revision"],
            channel=d["channel"],
        )
        timeline.add(step, after=[announced.get(d["match_id"], f"match:{d['match_id']}")])


def _all_consumed(ev: Evidence) -> bool:
    return all(e["event_id"] in ev.matching_inbox for e in ev.tender_events)


def _problems(ev: Evidence) -> list[str]:
    problems = [
        *_in_flight(ev.tender_events, ev.matching_inbox, producer="notices", to="matching"),
        *_in_flight(ev.match_events, ev.notify_inbox, producer="matching", to="notify"),
    ]
    delivered_matches = {d["match_id"] for d in ev.deliveries}
    for e in ev.match_events:
        if (
            e["event_id"] in ev.notify_inbox
            and e["match_id"] not in delivered_matches
            and e["key"] not in ev.deactivated
        ):
            problems.append(
                f"notify consumed {e['event_type']} {e['event_id']} for supplier {e['key']}"
                " but queued no delivery"
            )
    failed = [d for d in ev.deliveries if d["state"] == "failed"]
    if failed:
        problems.append(
            f"{_deliveries(len(failed))} failed: "
            + "; ".join(
                f"{d['channel']} to supplier {d['supplier_id']}: {d['last_error'] or 'no error'}"
                for d in failed
            )
        )
    waiting = Counter(d["state"] for d in ev.deliveries if d["state"] not in SETTLED | {"failed"})
    if waiting:
        states = ", ".join(f"{n} {state}" for state, n in sorted(waiting.items()))
        problems.append(f"{_deliveries(sum(waiting.values()))} not sent yet: {states}")
    return problems


def _deliveries(count: int) -> str:
    return f"{count} {'delivery' if count == 1 else 'deliveries'}"


def _in_flight(
    events: Sequence[asyncpg.Record],
    inbox: dict[str, asyncpg.Record],
    *,
    producer: str,
    to: str,
) -> list[str]:
    problems = []
    unpublished = [e for e in events if e["published_at"] is None]
    if unpublished:
        oldest = min(e["created_at"] for e in unpublished)
        problems.append(
            f"the {producer} outbox has {len(unpublished)} unpublished event(s) for this tender,"
            f" the oldest from {oldest:%Y-%m-%d %H:%M:%S %Z}: is its outbox relay running?"
        )
    for e in events:
        if e["published_at"] is not None and e["event_id"] not in inbox:
            problems.append(
                f"event {e['event_id']} ({e['event_type']} r{e['revision']}) published to"
                f" {_where(e['topic'], e['kafka_partition'], e['kafka_offset'])} but not"
                f" consumed by {to} yet (lagging, stopped, or dead-lettered)"
            )
    return problems


def _summary(ev: Evidence, counts: dict[str, int], states: Counter[str]) -> str:
    assert ev.notice is not None
    parts = [f"{ev.notice['status']} r{ev.notice['revision']}"]
    if not _all_consumed(ev):
        parts.append(
            f"matching consumed {counts['events_consumed']} of {counts['events']} event(s) so far"
        )
    if ev.matches:
        reached = sum(states[s] for s in REACHED)
        others = "".join(f", {states[s]} {s}" for s in _NOT_REACHED if states[s])
        parts.append(f"{counts['suppliers_matched']} supplier(s) matched")
        parts.append(f"{reached} of {len(ev.deliveries)} deliveries sent{others}")
    elif _all_consumed(ev):
        parts.append(f"{_nobody(ev)}, nothing to deliver")
    return "; ".join(parts)


def _was_open(ev: Evidence) -> bool:
    # An import of a notice whose deadline had passed is announced as closed: matched by no one.
    return any(r["event_type"] in ("tender.published", "tender.amended") for r in ev.revisions)


def _nobody(ev: Evidence) -> str:
    return "nobody matched" if _was_open(ev) else "nobody matched: never open for bids"
