"""The SMTP relay down for longer than the old retry window (6 attempts, 2 s base: about 6 s
at these tests' 0.2 s base): nothing fails, waiting alerts are not charged an attempt while the
circuit is open, and every alert goes exactly once when the relay returns. Past the retry
horizon an alert does fail, saying it gave up, and is not sent when the relay returns."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from tenderwire_shared.envelope import new_event_id
from tests.support.eventually import eventually
from tests.support.pipeline_events import produce
from tests.support.pipeline_platform import PatientPlatform, alerts, rows_for, sink_and_platform
from tests.support.pipeline_sink import FaultySink
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

ALERTS = 40
OUTAGE_S = 10.0  # longer than the old window; the sink is down for at least this long


sink, platform = sink_and_platform(PatientPlatform)


def tried_while_down(count: int) -> Any:
    def check(rows: list[Any]) -> bool:
        return len(rows) == count and any(r["last_error"] for r in rows)

    return check


async def test_a_long_relay_outage_fails_nothing_and_every_alert_goes_once_it_returns(
    platform: Platform, sink: FaultySink
) -> None:
    prefix = f"patience-{new_event_id()[-8:]}-"
    await sink.stop()
    try:
        await produce(platform.kafka, platform.topic_prefix, alerts(prefix, ALERTS))
        await eventually(lambda: rows_for(platform, prefix), until=tried_while_down(ALERTS))
        await asyncio.sleep(OUTAGE_S)  # the outage itself, not a wait for a result
        during = await rows_for(platform, prefix)
    finally:
        await sink.start()

    after = await eventually(
        lambda: rows_for(platform, prefix),
        until=lambda rows: all(r["state"] == "sent" for r in rows),
    )
    copies = sink.copies(prefix)
    attempts = [r["attempts"] for r in after]
    print(
        f"pipeline patience: {ALERTS} alerts through a {OUTAGE_S:.0f} s outage;"
        f" states while down {sorted({r['state'] for r in during})},"
        f" {sum(attempts)} attempts in all (max {max(attempts)} per row),"
        f" {sum(copies.values())} e-mails to {len(copies)} recipients"
    )
    assert {r["state"] for r in during} <= {"queued", "sending"}, "nothing gave up while down"
    assert copies == {f"{prefix}{n}@example.org": 1 for n in range(ALERTS)}
    # Tried at the old pace, each row would have used about 6 attempts by now (some 240 in
    # all); behind an open circuit only the first failures before it opened and the probes
    # (one every 2 s at most) cost one. One row may carry several probes.
    assert sum(attempts) - ALERTS < ALERTS // 2, attempts
    assert max(attempts) <= 10, attempts


async def test_an_alert_past_its_retry_horizon_fails_saying_it_gave_up_and_is_never_sent(
    platform: Platform, sink: FaultySink
) -> None:
    run = new_event_id()[-8:]
    refused, stranded = f"refuse999-{run}-", f"horizon-{run}-"
    # Refused by the mailbox, not the relay: backoff per message.
    await produce(platform.kafka, platform.topic_prefix, alerts(refused, 3))
    await eventually(
        lambda: rows_for(platform, refused),
        until=lambda rows: len(rows) == 3 and all(r["attempts"] >= 2 for r in rows),
    )
    await sink.stop()
    try:
        # Waiting behind an open circuit, never tried again before the horizon.
        await produce(platform.kafka, platform.topic_prefix, alerts(stranded, 5))
        await eventually(lambda: rows_for(platform, stranded), until=tried_while_down(5))
        platform.clock.advance(timedelta(hours=24, minutes=1))
        gave_up = await eventually(
            lambda: rows_for(platform, "refuse999-" + run),
            until=lambda rows: all(r["state"] == "failed" for r in rows),
        )
        gave_up += await eventually(
            lambda: rows_for(platform, stranded),
            until=lambda rows: all(r["state"] == "failed" for r in rows),
        )
    finally:
        await sink.start()

    sentinel = f"after-horizon-{run}-"
    await produce(platform.kafka, platform.topic_prefix, alerts(sentinel, 1))
    await eventually(lambda: asyncio.sleep(0, sink.copies(sentinel)), until=bool)
    later = await rows_for(platform, refused) + await rows_for(platform, stranded)
    print(
        f"pipeline horizon: {len(gave_up)} alerts failed past the horizon"
        f" ({[r['last_error'][:40] for r in gave_up[:2]]}...),"
        f" {sum(sink.copies(stranded).values())} of them sent after the relay returned"
    )
    assert len(gave_up) == 8
    assert all(r["last_error"].startswith("gave up") for r in gave_up), gave_up
    assert {r["state"] for r in later} == {"failed"}
    assert sink.copies(stranded) == {}
    assert sink.copies(refused) == {}
