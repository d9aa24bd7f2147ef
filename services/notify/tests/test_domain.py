"""Notify's pure rules: delivery states, channel choice, quiet hours and the digest hour,
folding waiting alerts, the content key, retry timing, the breaker, the SMS status ranks and
the requeue filters."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AnyHttpUrl

from tenderwire_notify.domain import (
    AHEAD_OF_A_REQUEUE,
    FINAL_RANK,
    SMS_PROGRESS_ONLY,
    SMS_RANKS,
    SMS_STATUSES,
    BreakerState,
    ChannelName,
    CircuitBreaker,
    DeliveryState,
    RequeueFilterError,
    RetryPolicy,
    SmtpVerdict,
    channels_for,
    check_requeue_filters,
    content_key,
    deferred_until,
    fold,
    initial_state,
    local_day_if_due,
    merged_changes,
    out_of_order,
    sms_rank,
    sms_state_for,
    sms_status_applies,
    sms_status_error,
    smtp_verdict,
)
from tenderwire_shared.events.matches import (
    Delivery,
    MatchCreated,
    MatchKind,
    QuietHours,
    Recipient,
)
from tenderwire_shared.events.tenders import FieldChange, NoticeType, TenderSnapshot
from tests.support.examples import examples

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SUPPLIER = Recipient(
    supplier_id="sup-1",
    legal_name="Acme Pumps",
    email="bids@acme.example",
    language="en",
    timezone="Africa/Dakar",
)


def snapshot(revision: int, **fields: Any) -> TenderSnapshot:
    values: dict[str, Any] = {
        "tender_id": "tender-1",
        "revision": revision,
        "agency": "UNDP",
        "reference": "RFQ-1",
        "title": f"Water pumps, revision {revision}",
        "description": "",
        "language": "en",
        "notice_type": NoticeType.INVITATION_TO_BID,
        "unspsc_codes": ("40141700",),
        "beneficiary_countries": ("SEN",),
        "deadline": NOW + timedelta(days=20),
        "deadline_utc_offset_minutes": 0,
        "published_at": NOW,
        "url": AnyHttpUrl("https://example.org/t"),
    }
    return TenderSnapshot(**(values | fields))


def change(name: str, before: object, after: object) -> FieldChange:
    return FieldChange(field=name, before=before, after=after)


def alert(
    kind: MatchKind,
    revision: int,
    *changes: FieldChange,
    still_matches: bool = True,
    recipient: Recipient = SUPPLIER,
    reason: str | None = None,
) -> MatchCreated:
    return MatchCreated(
        match_id=f"match-{kind.value}-{revision}",
        kind=kind,
        recipient=recipient,
        tender=snapshot(revision),
        matched_codes=("40141700",),
        changes=changes,
        reason=reason,
        still_matches=still_matches,
    )


def new(revision: int = 1) -> MatchCreated:
    return alert(MatchKind.NEW, revision)


def amended(revision: int, *changes: FieldChange, still_matches: bool = True) -> MatchCreated:
    return alert(
        MatchKind.AMENDED, revision, *changes, still_matches=still_matches, reason="Corrigendum"
    )


def cancelled(revision: int) -> MatchCreated:
    return alert(MatchKind.CANCELLED, revision, reason="Funding withdrawn")


# --- fold: each rule of its docstring -------------------------------------------------------


@pytest.mark.parametrize(
    "later",
    [new(), amended(2, change("title", "a", "b")), cancelled(3)],
    ids=["new", "amended", "cancelled"],
)
def test_with_nothing_waiting_before_it_an_alert_goes_as_it_is(later: MatchCreated) -> None:
    assert fold([], later) is later


def test_new_then_amended_is_one_new_tender_alert_for_the_tender_as_it_stands() -> None:
    first, second = new(1), amended(2, change("deadline", "2027-03-20", "2027-03-27"))

    folded = fold([first], second)

    assert folded is not None
    assert folded.kind is MatchKind.NEW
    assert folded.tender == second.tender
    assert folded.changes == ()
    assert folded.reason is None
    assert folded.still_matches is True
    assert folded.match_id == second.match_id


def test_a_new_tender_then_several_amendments_is_still_one_new_tender_alert() -> None:
    folded = fold(
        [new(1), amended(2, change("title", "a", "b"))], amended(3, change("title", "b", "c"))
    )

    assert folded is not None
    assert (folded.kind, folded.tender.revision, folded.changes) == (MatchKind.NEW, 3, ())


def test_a_new_tender_then_its_cancellation_is_nothing_at_all() -> None:
    assert fold([new(1)], cancelled(2)) is None
    assert fold([new(1), amended(2, change("title", "a", "b"))], cancelled(3)) is None


def test_a_new_tender_then_an_amendment_the_supplier_no_longer_matches_is_nothing_at_all() -> None:
    dropped = amended(2, change("unspsc_codes", ["40141700"], ["72101500"]), still_matches=False)

    assert fold([new(1)], dropped) is None


def test_two_amendments_are_one_with_each_field_from_first_before_to_last_after() -> None:
    first = amended(2, change("deadline", "03-20", "03-27"), change("title", "Pumps", "Pump"))
    second = amended(3, change("deadline", "03-27", "04-03"), change("budget", 10, 12))

    folded = fold([first], second)

    assert folded is not None
    assert folded.kind is MatchKind.AMENDED
    assert folded.tender == second.tender
    assert folded.reason == second.reason
    assert folded.changes == (
        change("deadline", "03-20", "04-03"),
        change("title", "Pumps", "Pump"),
        change("budget", 10, 12),
    )


def test_an_amendment_no_longer_matching_after_an_amendment_keeps_saying_so() -> None:
    folded = fold(
        [amended(2, change("title", "a", "b"))],
        amended(3, change("title", "b", "c"), still_matches=False),
    )

    assert folded is not None
    assert (folded.kind, folded.still_matches) == (MatchKind.AMENDED, False)
    assert folded.changes == (change("title", "a", "c"),)


def test_a_field_changed_and_changed_back_is_left_out() -> None:
    first = amended(2, change("deadline", "03-20", "03-27"), change("title", "a", "b"))
    second = amended(3, change("deadline", "03-27", "03-20"))

    folded = fold([first], second)

    assert folded is not None
    assert folded.changes == (change("title", "a", "b"),)


def test_amendments_that_undo_each_other_are_still_an_amendment_with_no_changes() -> None:
    folded = fold([amended(2, change("title", "a", "b"))], amended(3, change("title", "b", "a")))

    assert folded is not None
    assert (folded.kind, folded.changes) == (MatchKind.AMENDED, ())


def test_amendments_then_a_cancellation_are_the_cancellation_alone() -> None:
    last = cancelled(4)

    folded = fold(
        [amended(2, change("title", "a", "b")), amended(3, change("title", "b", "c"))], last
    )

    assert folded == last


# --- fold: folding all at once or one revision at a time ------------------------------------

FIELDS = ("title", "deadline", "budget")


@st.composite
def revisions(draw: st.DrawFn) -> list[MatchCreated]:
    """What matching sends one supplier about one tender: a new-tender alert unless it was
    told before this window, then amendments (each change starting from the value the last
    one left), perhaps a cancellation last."""
    told_before = draw(st.booleans())
    amendments = draw(st.integers(min_value=0 if told_before else 1, max_value=4))
    ends_cancelled = draw(st.booleans())
    values = dict.fromkeys(FIELDS, 0)
    sequence = [] if told_before else [new(1)]
    revision = len(sequence)
    for _ in range(amendments):
        revision += 1
        changed = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True))
        changes = []
        for name in changed:
            after = (values[name] + draw(st.integers(min_value=1, max_value=2))) % 3
            changes.append(change(name, values[name], after))
            values[name] = after
        # Only the last may leave the profile of a supplier never told: an earlier one would
        # fold to nothing, the case the test below is about.
        last = len(sequence) == (0 if told_before else 1) + amendments - 1
        leaves = draw(st.booleans()) if told_before or (last and not ends_cancelled) else False
        sequence.append(amended(revision, *changes, still_matches=not leaves))
    if ends_cancelled:
        sequence.append(cancelled(revision + 1))
    return sequence if len(sequence) >= 2 else [*sequence, cancelled(revision + 1)]


def folded_at_once(sequence: Sequence[MatchCreated]) -> MatchCreated | None:
    *earlier, later = sequence
    return fold(earlier, later)


def folded_one_at_a_time(sequence: Sequence[MatchCreated]) -> MatchCreated | None:
    """As the ledger does it: the kept row holds the folded alert, and a revision arriving
    later is folded into whatever still waits; after a fold to nothing, nothing waits, but the
    ledger remembers that the supplier was never told of the tender."""
    waiting: list[MatchCreated] = []
    never_told = False
    for alert_ in sequence:
        kept = fold(waiting, alert_, never_told=never_told)
        if kept is None and (never_told or any(m.kind is MatchKind.NEW for m in waiting)):
            never_told = True
        waiting = [] if kept is None else [kept]
    return waiting[0] if waiting else None


def as_compared(folded: MatchCreated | None) -> object:
    # The order of the changes is presentation only; see the test below for how it differs.
    if folded is None:
        return None
    return folded.model_copy(update={"changes": tuple(sorted(folded.changes, key=str))})


@settings(max_examples=examples(40), deadline=None)
@given(revisions())
def test_folding_revision_by_revision_gives_what_folding_them_all_at_once_gives(
    sequence: list[MatchCreated],
) -> None:
    assert as_compared(folded_one_at_a_time(sequence)) == as_compared(folded_at_once(sequence))


@pytest.mark.parametrize(
    "last", [amended(3, change("title", "b", "c")), cancelled(3)], ids=["amended", "cancelled"]
)
def test_after_a_fold_to_nothing_a_later_revision_still_folds_as_for_a_supplier_never_told(
    last: MatchCreated,
) -> None:
    """New tender, amended out of the supplier's profile (nothing to send), then amended back
    into it or cancelled: matching sends both to every supplier it alerted. All at once this
    is a new-tender alert or nothing; one revision at a time the supplier gets an amendment
    or a cancellation of a tender it never heard of."""
    sequence = [new(1), amended(2, change("title", "a", "b"), still_matches=False), last]

    assert folded_one_at_a_time(sequence) == folded_at_once(sequence)


def test_one_revision_at_a_time_a_field_undone_and_changed_again_moves_to_the_end() -> None:
    """Only the order differs: the field left out of the middle fold comes back last."""
    sequence = [
        amended(2, change("deadline", 1, 2), change("title", "a", "b")),
        amended(3, change("deadline", 2, 1)),
        amended(4, change("deadline", 1, 3)),
    ]

    at_once, one_at_a_time = folded_at_once(sequence), folded_one_at_a_time(sequence)

    assert at_once is not None
    assert one_at_a_time is not None
    assert at_once.changes == (change("deadline", 1, 3), change("title", "a", "b"))
    assert one_at_a_time.changes == (change("title", "a", "b"), change("deadline", 1, 3))


# --- merged_changes -------------------------------------------------------------------------


def test_merged_changes_keep_the_order_each_field_first_changed_in() -> None:
    merged = merged_changes(
        [
            amended(2, change("b", 1, 2), change("a", "x", "y")),
            amended(3, change("c", None, "set"), change("b", 2, 5)),
            amended(4, change("a", "y", "z")),
        ]
    )

    assert merged == (change("b", 1, 5), change("a", "x", "z"), change("c", None, "set"))


def test_merged_changes_ignore_cancellations_and_new_tender_alerts_without_changes() -> None:
    assert merged_changes([new(1), amended(2, change("a", 1, 2)), cancelled(3)]) == (
        change("a", 1, 2),
    )
    assert merged_changes([]) == ()


def test_merged_changes_compare_structured_values_not_identities() -> None:
    merged = merged_changes(
        [
            amended(2, change("countries", ["SEN"], ["SEN", "MLI"])),
            amended(3, change("countries", ["SEN", "MLI"], ["SEN"])),
        ]
    )

    assert merged == ()


# --- content_key ----------------------------------------------------------------------------

OTHER_SUPPLIER = Recipient(
    supplier_id="sup-2",
    legal_name="Other Ltd",
    email="tenders@other.example",
    language="en",
    timezone="Africa/Dakar",
    phone="+221770000000",
)


def key(match: MatchCreated, language: str = "en", timezone: str = "Africa/Dakar") -> str:
    return content_key(match, language=language, timezone=timezone)


def test_the_same_words_give_the_same_key() -> None:
    assert key(amended(2, change("a", 1, 2))) == key(amended(2, change("a", 1, 2)))


def test_the_key_does_not_depend_on_the_recipient_or_the_match_id() -> None:
    mine = amended(2, change("a", 1, 2))
    theirs = mine.model_copy(
        update={"recipient": OTHER_SUPPLIER, "match_id": "another", "matched_codes": ("40141701",)}
    )

    assert key(mine) == key(theirs)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(key(amended(2, change("a", 1, 2)), language="fr"), id="language"),
        pytest.param(key(amended(2, change("a", 1, 2)), timezone="Europe/Paris"), id="time zone"),
        pytest.param(key(amended(3, change("a", 1, 2))), id="revision"),
        pytest.param(
            key(amended(2, change("a", 1, 2)).model_copy(update={"kind": MatchKind.NEW})),
            id="kind",
        ),
        pytest.param(key(amended(2, change("a", 1, 3))), id="changes"),
        pytest.param(key(amended(2, change("a", 1, 2), still_matches=False)), id="still matches"),
        pytest.param(
            key(amended(2, change("a", 1, 2)).model_copy(update={"reason": "Typo"})), id="reason"
        ),
    ],
)
def test_different_words_give_a_different_key(other: str) -> None:
    assert key(amended(2, change("a", 1, 2))) != other


# --- RetryPolicy ----------------------------------------------------------------------------

POLICY = RetryPolicy(
    base_delay=timedelta(seconds=2), max_delay=timedelta(seconds=300), horizon=timedelta(hours=4)
)


class NoJitter(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 1.0


def delay(attempts: int, *, rng: random.Random, policy: RetryPolicy = POLICY) -> timedelta:
    retry_at = policy.next_attempt(attempts, now=NOW, retry_since=NOW, rng=rng)
    assert retry_at is not None
    return retry_at - NOW


def test_delays_double_per_attempt_until_the_cap() -> None:
    delays = [delay(n, rng=NoJitter()).total_seconds() for n in range(1, 12)]

    assert delays == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


def test_a_first_try_counted_as_zero_attempts_waits_the_base_delay() -> None:
    assert delay(0, rng=NoJitter()) == timedelta(seconds=2)


def test_a_huge_attempt_count_is_capped_not_overflowed() -> None:
    assert delay(10_000, rng=NoJitter()) == timedelta(seconds=300)


@settings(max_examples=examples(50))
@given(
    attempts=st.integers(min_value=0, max_value=200), seed=st.integers(min_value=0, max_value=2**32)
)
def test_jitter_stays_within_half_and_one_and_a_half_of_the_capped_delay(
    attempts: int, seed: int
) -> None:
    unjittered = min(2 * 2 ** max(attempts - 1, 0), 300)

    jittered = delay(attempts, rng=random.Random(seed)).total_seconds()

    assert 0.5 * unjittered <= jittered <= 1.5 * unjittered
    assert jittered <= 1.5 * POLICY.max_delay.total_seconds()


def test_jitter_spreads_retries_of_the_same_attempt() -> None:
    rng = random.Random(7)

    delays = {delay(3, rng=rng) for _ in range(20)}

    assert len(delays) == 20
    assert min(delays) < timedelta(seconds=8) < max(delays)


@settings(max_examples=examples(40))
@given(
    attempts=st.integers(min_value=1, max_value=40),
    elapsed_ms=st.integers(min_value=0, max_value=4 * 3600 * 1000 - 1),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_a_retry_never_lands_beyond_the_horizon(attempts: int, elapsed_ms: int, seed: int) -> None:
    since = NOW - timedelta(milliseconds=elapsed_ms)

    retry_at = POLICY.next_attempt(attempts, now=NOW, retry_since=since, rng=random.Random(seed))

    assert retry_at is not None
    assert NOW < retry_at <= since + POLICY.horizon


def test_the_last_try_lands_on_the_horizon_itself() -> None:
    since = NOW - POLICY.horizon + timedelta(seconds=1)

    retry_at = POLICY.next_attempt(9, now=NOW, retry_since=since, rng=random.Random(1))

    assert retry_at == since + POLICY.horizon


@pytest.mark.parametrize("past", [timedelta(0), timedelta(microseconds=1), timedelta(days=3)])
def test_at_or_after_the_horizon_it_gives_up(past: timedelta) -> None:
    since = NOW - POLICY.horizon - past

    assert POLICY.next_attempt(1, now=NOW, retry_since=since, rng=random.Random(1)) is None


def test_the_same_seed_gives_the_same_schedule() -> None:
    first = [delay(n, rng=random.Random(42)) for n in range(1, 8)]
    again = [delay(n, rng=random.Random(42)) for n in range(1, 8)]

    assert first == again


# --- CircuitBreaker -------------------------------------------------------------------------


def breaker() -> CircuitBreaker:
    return CircuitBreaker(
        "relay", threshold=3, cooldown=timedelta(seconds=1), max_cooldown=timedelta(seconds=5)
    )


def opened(at: datetime = NOW) -> CircuitBreaker:
    circuit = breaker()
    for _ in range(3):
        circuit.failed(at)
    return circuit


def test_it_opens_after_threshold_failures_in_a_row_and_not_before() -> None:
    circuit = breaker()

    assert [circuit.failed(NOW) for _ in range(3)] == [False, False, True]
    assert circuit.state is BreakerState.OPEN
    assert circuit.is_open(NOW)


def test_a_success_in_between_starts_the_count_again() -> None:
    circuit = breaker()
    circuit.failed(NOW)
    circuit.failed(NOW)
    circuit.succeeded()

    assert [circuit.failed(NOW) for _ in range(2)] == [False, False]
    assert circuit.allows(NOW)
    assert not circuit.is_open(NOW)


def test_a_closed_circuit_allows_every_send() -> None:
    circuit = breaker()

    assert all(circuit.allows(NOW) for _ in range(10))
    assert not circuit.is_open(NOW)


def test_while_open_nothing_is_sent() -> None:
    circuit = opened()

    for moment in (NOW, NOW + timedelta(milliseconds=999)):
        assert not circuit.allows(moment)
        assert circuit.is_open(moment)


def test_failures_of_sends_already_in_flight_do_not_extend_the_open_circuit() -> None:
    circuit = opened()

    assert circuit.failed(NOW + timedelta(milliseconds=500)) is False
    assert circuit.opened_until == NOW + timedelta(seconds=1)


def test_after_the_cooldown_exactly_one_probe_goes_through() -> None:
    circuit = opened()
    later = NOW + timedelta(seconds=1)

    assert not circuit.is_open(later)
    assert [circuit.allows(later) for _ in range(3)] == [True, False, False]
    assert circuit.state is BreakerState.HALF_OPEN
    assert circuit.is_open(later)


def test_a_successful_probe_closes_the_circuit_and_resets_it() -> None:
    circuit = opened()
    later = NOW + timedelta(seconds=1)
    assert circuit.allows(later)

    circuit.succeeded()

    assert circuit.state is BreakerState.CLOSED
    assert not circuit.is_open(later)
    assert all(circuit.allows(later) for _ in range(5))
    assert [circuit.failed(later) for _ in range(3)] == [False, False, True]
    assert circuit.opened_until == later + timedelta(seconds=1), "cool-down back to the first"


def test_a_failed_probe_reopens_with_twice_the_cooldown_up_to_the_cap() -> None:
    circuit = opened()
    moment, pauses = NOW + timedelta(seconds=1), []
    for _ in range(5):
        assert circuit.allows(moment)
        assert circuit.failed(moment) is True
        assert circuit.state is BreakerState.OPEN
        assert circuit.opened_until is not None
        pauses.append((circuit.opened_until - moment).total_seconds())
        assert not circuit.allows(circuit.opened_until - timedelta(microseconds=1))
        assert circuit.is_open(circuit.opened_until - timedelta(microseconds=1))
        moment = circuit.opened_until

    assert pauses == [2, 4, 5, 5, 5]


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["allows", "failed", "succeeded"]), st.integers(0, 3000)),
        max_size=40,
    )
)
def test_is_open_agrees_with_whether_a_send_would_be_allowed(
    steps: list[tuple[str, int]],
) -> None:
    circuit = breaker()
    moment = NOW
    for action, wait_ms in steps:
        moment += timedelta(milliseconds=wait_ms)
        if action == "failed":
            circuit.failed(moment)
        elif action == "succeeded":
            circuit.succeeded()
        else:
            circuit.allows(moment)
        # Asking must not change the answer: `is_open` is a pure look, `allows` may take a probe.
        was_open = circuit.is_open(moment)
        assert circuit.allows(moment) is not was_open


# --- Delivery states -----------------------------------------------------------------------


def test_the_states_are_the_words_the_ledger_stores() -> None:
    assert {s.value for s in DeliveryState} == {
        "batched",
        "queued",
        "sending",
        "sent",
        "delivered",
        "failed",
        "superseded",
        "suppressed",
    }
    assert DeliveryState("queued") is DeliveryState.QUEUED


# --- Channel choice ------------------------------------------------------------------------


def recipient(**fields: Any) -> Recipient:
    return SUPPLIER.model_copy(update=fields)


def test_email_always_and_sms_too_for_a_mobile_that_wants_alerts_at_once() -> None:
    assert channels_for(SUPPLIER) == [(ChannelName.EMAIL, "bids@acme.example")]
    assert channels_for(recipient(phone="+221770001234")) == [
        (ChannelName.EMAIL, "bids@acme.example"),
        (ChannelName.SMS, "+221770001234"),
    ]


def test_a_digest_is_a_long_read_so_a_digest_supplier_gets_no_sms() -> None:
    digest = recipient(phone="+221770001234", delivery=Delivery.DAILY_DIGEST)

    assert channels_for(digest) == [(ChannelName.EMAIL, "bids@acme.example")]


def test_a_digest_suppliers_email_waits_for_the_digest_and_everything_else_is_queued() -> None:
    digest = recipient(delivery=Delivery.DAILY_DIGEST)

    assert initial_state(digest, ChannelName.EMAIL) is DeliveryState.BATCHED
    assert initial_state(digest, ChannelName.SMS) is DeliveryState.QUEUED
    assert initial_state(SUPPLIER, ChannelName.EMAIL) is DeliveryState.QUEUED


# --- Quiet hours and the digest hour -------------------------------------------------------

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


def test_quiet_hours_that_start_and_end_together_defer_nothing() -> None:
    assert deferred_until(at(10, 23), "Africa/Dakar", QuietHours(start=time(8), end=time(8))) == (
        at(10, 23)
    )


def test_the_digest_is_due_from_the_suppliers_local_hour_on_its_local_date() -> None:
    # Nouméa is UTC+11: 20:00 UTC on 10 January is 07:00 on the 11th there.
    assert local_day_if_due(at(10, 20), "Pacific/Noumea", 7) == date(2027, 1, 11)
    assert local_day_if_due(at(10, 19, 59), "Pacific/Noumea", 7) is None
    assert local_day_if_due(at(10, 23), "Africa/Dakar", 7) == date(2027, 1, 10)


# --- A relay's retries ---------------------------------------------------------------------


def test_after_a_relay_failure_the_row_waits_about_the_base_delay_whatever_its_attempts() -> None:
    retry_at = POLICY.relay_retry_at(now=NOW, retry_since=NOW, rng=NoJitter())

    assert retry_at == NOW + POLICY.base_delay


@settings(max_examples=examples(50), deadline=None)
@given(st.integers(0, 4 * 3600 * 1000), st.integers(0, 2**32))
def test_a_relay_retry_stays_within_jitter_and_never_beyond_the_horizon(
    elapsed_ms: int, seed: int
) -> None:
    now = NOW + timedelta(milliseconds=elapsed_ms)
    retry_at = POLICY.relay_retry_at(now=now, retry_since=NOW, rng=random.Random(seed))

    if now >= NOW + POLICY.horizon:
        assert retry_at is None
    else:
        assert retry_at is not None
        assert retry_at <= NOW + POLICY.horizon
        assert retry_at <= now + POLICY.base_delay * 1.5
        assert retry_at >= min(now + POLICY.base_delay * 0.5, NOW + POLICY.horizon)


# --- SMS status callbacks ------------------------------------------------------------------


def test_a_late_sent_never_overwrites_delivered_and_a_repeat_changes_nothing() -> None:
    assert not sms_status_applies(DeliveryState.DELIVERED, DeliveryState.SENT)
    assert not sms_status_applies(DeliveryState.DELIVERED, DeliveryState.DELIVERED)
    assert not sms_status_applies(DeliveryState.SENT, DeliveryState.SENT)
    assert not sms_status_applies(DeliveryState.FAILED, DeliveryState.DELIVERED)
    assert not sms_status_applies(DeliveryState.DELIVERED, DeliveryState.FAILED)


def test_delivered_may_overtake_the_workers_own_record_of_the_send() -> None:
    for current in (DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.SENT):
        assert sms_status_applies(current, DeliveryState.DELIVERED)
        assert sms_status_applies(current, DeliveryState.FAILED)
    assert sms_status_applies(DeliveryState.SENDING, DeliveryState.SENT)


def test_a_row_folded_away_or_suppressed_is_as_final_as_delivered() -> None:
    for final in (DeliveryState.SUPERSEDED, DeliveryState.SUPPRESSED, DeliveryState.BATCHED):
        assert sms_rank(final) == FINAL_RANK
        assert not any(sms_status_applies(final, s) for s in SMS_STATUSES.values())
    assert sms_rank("not-a-state") == FINAL_RANK
    assert max(SMS_RANKS.values()) == FINAL_RANK


@pytest.mark.parametrize(
    ("reported", "state"),
    [
        ("sent", DeliveryState.SENT),
        ("delivered", DeliveryState.DELIVERED),
        ("Delivered", DeliveryState.DELIVERED),
        ("undelivered", DeliveryState.FAILED),
        ("failed", DeliveryState.FAILED),
    ],
)
def test_only_statuses_saying_the_provider_took_the_message_move_a_row(
    reported: str, state: DeliveryState
) -> None:
    assert sms_state_for(reported) is state


@pytest.mark.parametrize("reported", [*sorted(SMS_PROGRESS_ONLY), "read-by-martians"])
def test_progress_and_unknown_statuses_move_nothing(reported: str) -> None:
    # "queued" or "sending" would make a row the worker will retry a 'sending' row no worker
    # holds, and so strand it.
    assert sms_state_for(reported) is None


def test_a_failed_sms_keeps_the_providers_status_and_error_code() -> None:
    assert sms_status_error("undelivered", "30003") == "provider reported undelivered (30003)"
    assert sms_status_error("failed", None) == "provider reported failed"


# --- Requeue -------------------------------------------------------------------------------


def test_a_requeue_must_choose_a_tender_a_supplier_or_a_time_range() -> None:
    with pytest.raises(RequeueFilterError, match="requeuing every failed delivery"):
        check_requeue_filters(None, None, None, None)
    check_requeue_filters("tender-1", None, None, None)
    check_requeue_filters(None, "sup-1", None, None)
    check_requeue_filters(None, None, NOW, None)
    check_requeue_filters(None, None, None, NOW)


def test_a_requeue_time_range_needs_zones_and_since_before_until() -> None:
    with pytest.raises(RequeueFilterError, match=r"since .* has no time zone"):
        check_requeue_filters(None, None, NOW.replace(tzinfo=None), None)
    with pytest.raises(RequeueFilterError, match=r"until .* has no time zone"):
        check_requeue_filters(None, None, None, NOW.replace(tzinfo=None))
    with pytest.raises(RequeueFilterError, match="is not before until"):
        check_requeue_filters(None, None, NOW, NOW)


def test_a_later_revision_on_its_way_or_arrived_holds_a_requeue_back() -> None:
    assert set(AHEAD_OF_A_REQUEUE) == {
        DeliveryState.QUEUED,
        DeliveryState.SENDING,
        DeliveryState.SENT,
        DeliveryState.DELIVERED,
    }
    assert out_of_order(1, 3, "sent") == (
        "r3 is already sent: sending r1 now would deliver revisions out of order"
    )


# --- SMTP replies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "at_recipient", "verdict"),
    [
        (550, True, SmtpVerdict.HARD_BOUNCE),
        (551, True, SmtpVerdict.HARD_BOUNCE),
        (553, True, SmtpVerdict.HARD_BOUNCE),
        (552, False, SmtpVerdict.PERMANENT),
        (554, False, SmtpVerdict.PERMANENT),
        (421, True, SmtpVerdict.RELAY_DOWN),
        (421, False, SmtpVerdict.RELAY_DOWN),
        (450, True, SmtpVerdict.TRANSIENT),
        (451, False, SmtpVerdict.TRANSIENT),
        (452, True, SmtpVerdict.TRANSIENT),
    ],
)
def test_a_5xx_for_the_mailbox_is_a_hard_bounce_and_only_421_blames_the_relay(
    code: int, at_recipient: bool, verdict: SmtpVerdict
) -> None:
    assert smtp_verdict(code, at_recipient=at_recipient) is verdict
