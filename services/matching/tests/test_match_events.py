"""Spliced match events must be, byte for byte, what model_dump_json makes of the same event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tenderwire_matching.match_events import Cause, MatchEvents
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.events.matches import Delivery, MatchKind, QuietHours, Recipient
from tenderwire_shared.events.tenders import (
    Contact,
    Document,
    FieldChange,
    NoticeType,
    TenderSnapshot,
    TenderStatus,
)
from tenderwire_shared.outbox import OutboxRow, headers_column
from tests.support.examples import examples

# Quotes, backslashes, control characters, accents and emoji: everything JSON must escape or not.
awkward_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40)
# An envelope attribute is one line: no control characters (tenderwire_shared.envelope).
awkward_attribute = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"]), min_size=1, max_size=40
)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | awkward_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(awkward_text, inner, max_size=3),
    max_leaves=6,
)


def tender(title: str = "Isolation gowns", description: str = "Gowns, lots 1-3") -> TenderSnapshot:
    return TenderSnapshot(
        tender_id=new_event_id(),
        revision=3,
        status=TenderStatus.AMENDED,
        agency="UNICEF",
        reference="RFQ-2026-001",
        title=title,
        description=description,
        language="es",
        notice_type=NoticeType.REQUEST_FOR_QUOTATION,
        unspsc_codes=("42131606", "42132205"),
        beneficiary_countries=("SEN", "MLI"),
        deadline=datetime(2027, 1, 15, 11, 0, tzinfo=UTC),
        deadline_utc_offset_minutes=60,
        published_at=datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=UTC),
        documents=(Document(title="RFQ", url="https://www.ungm.org/doc?id=1"),),  # type: ignore[arg-type]
        contacts=(Contact(name="Procurement unit", email="dakar@unicef.org", phone="+221 1"),),
        url="https://tenders.example.org/v1/notices/1",  # type: ignore[arg-type]
    )


def recipient(legal_name: str = "Acme SARL", **overrides: Any) -> Recipient:
    fields: dict[str, Any] = {
        "supplier_id": new_event_id(),
        "legal_name": legal_name,
        "email": "bids@acme.example.org",
        "language": "fr",
        "timezone": "Africa/Dakar",
        **overrides,
    }
    return Recipient(**fields)


def spliced_and_dumped(
    events: MatchEvents,
    *,
    kind: MatchKind,
    to: Recipient,
    codes: tuple[str, ...],
    still_matches: bool = True,
) -> tuple[OutboxRow, OutboxRow]:
    match_id = new_event_id()
    row = events.row(
        match_id=match_id, kind=kind, recipient=to, matched_codes=codes, still_matches=still_matches
    )
    event = events.event(
        event_id=row.event_id,
        match_id=match_id,
        kind=kind,
        recipient=to,
        matched_codes=codes,
        still_matches=still_matches,
    )
    return row, OutboxRow.of(to.supplier_id, event)


def assert_same(row: OutboxRow, expected: OutboxRow) -> None:
    assert row.value == expected.value
    assert (row.key, row.event_id, row.event_type) == (
        expected.key,
        expected.event_id,
        expected.event_type,
    )
    # The column is jsonb: equal as JSON is what reaches Kafka.
    assert json.loads(row.headers) == json.loads(expected.headers)


def test_each_kind_and_recipient_shape_is_spliced_to_the_same_bytes() -> None:
    changes = (FieldChange(field="deadline", before="2027-01-10", after="2027-01-15"),)
    cause = Cause(tender(), new_event_id(), new_event_id(), changes, "Deadline extended")
    events = MatchEvents(cause)
    recipients = [
        recipient(),
        recipient(
            'Société d\'études "Nord" \\ Sahel',
            phone="+221771234567",
            delivery=Delivery.DAILY_DIGEST,
            digest_hour=7,
            quiet_hours=QuietHours(start=time(22, 0), end=time(7, 0)),
            least_developed=True,
        ),
    ]
    for kind in MatchKind:
        for still_matches in (True, False):
            assert events.template(kind, still_matches) is not None, "the fast path was not taken"
            for to in recipients:
                for codes in [(), ("42131606",), ("42131606", "42132205")]:
                    row, expected = spliced_and_dumped(
                        events, kind=kind, to=to, codes=codes, still_matches=still_matches
                    )
                    assert_same(row, expected)


def test_an_event_without_correlation_or_changes_is_spliced_to_the_same_bytes() -> None:
    events = MatchEvents(Cause(tender(), None, None))
    row, expected = spliced_and_dumped(events, kind=MatchKind.NEW, to=recipient(), codes=("1",))
    assert events.template(MatchKind.NEW, True) is not None
    assert_same(row, expected)


def test_text_that_spells_a_stand_in_cannot_be_mistaken_for_it() -> None:
    # Inside a JSON string every quote is escaped, so no text can contain a quoted stand-in.
    cause = Cause(tender(title='"recipient-stand-in"'), '["matched-codes-stand-in"]', None)
    events = MatchEvents(cause)
    assert events.template(MatchKind.NEW, True) is not None
    row, expected = spliced_and_dumped(events, kind=MatchKind.NEW, to=recipient(), codes=("1",))
    assert_same(row, expected)


def test_a_value_that_is_a_stand_in_takes_the_slow_path_and_stays_exact() -> None:
    changes = (FieldChange(field="codes", before=["matched-codes-stand-in"], after=[]),)
    events = MatchEvents(Cause(tender(), None, None, changes))
    assert events.template(MatchKind.NEW, True) is None
    row, expected = spliced_and_dumped(events, kind=MatchKind.NEW, to=recipient(), codes=("1",))
    assert_same(row, expected)


@settings(max_examples=examples(150), deadline=timedelta(seconds=2))
@given(
    title=awkward_text,
    description=awkward_text,
    legal_name=awkward_text,
    reason=st.none() | awkward_text,
    correlation_id=st.none() | awkward_attribute,
    change=st.tuples(awkward_text, json_values, json_values),
    kind=st.sampled_from(MatchKind),
    still_matches=st.booleans(),
)
def test_any_text_anywhere_is_spliced_to_the_same_bytes(
    title: str,
    description: str,
    legal_name: str,
    reason: str | None,
    correlation_id: str | None,
    change: tuple[str, Any, Any],
    kind: MatchKind,
    still_matches: bool,
) -> None:
    field, before, after = change
    cause = Cause(
        tender(title, description),
        correlation_id,
        new_event_id(),
        (FieldChange(field=field, before=before, after=after),),
        reason,
    )
    events = MatchEvents(cause)
    for _ in range(2):  # the second event reuses the first one's template
        row, expected = spliced_and_dumped(
            events,
            kind=kind,
            to=recipient(legal_name),
            codes=("42131606",),
            still_matches=still_matches,
        )
        assert_same(row, expected)


def test_headers_column_is_the_kafka_headers_as_string_pairs() -> None:
    events = MatchEvents(Cause(tender(), "corr", None))
    to = recipient()
    event = events.event(
        event_id="e1",
        match_id="m1",
        kind=MatchKind.NEW,
        recipient=to,
        matched_codes=(),
        still_matches=True,
    )
    assert json.loads(headers_column(event)) == [
        ["content-type", "application/cloudevents+json; charset=utf-8"],
        ["event_id", "e1"],
        ["event_type", "match.new"],
        ["correlation_id", "corr"],
    ]
