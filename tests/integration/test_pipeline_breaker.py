"""The relay comes back, and the first message it is offered (the circuit's probe) is refused
by its mailbox: the relay has answered, so it is up, and the channel must resume."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tenderwire_shared.envelope import new_event_id
from tests.support.eventually import eventually
from tests.support.pipeline_events import produce
from tests.support.pipeline_platform import PatientPlatform, alerts, rows_for, sink_and_platform
from tests.support.pipeline_sink import FaultySink
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

RELAY_FAILURES_TO_OPEN = 3  # notify's default breaker threshold


sink, platform = sink_and_platform(PatientPlatform)


async def test_a_probe_refused_by_its_mailbox_still_closes_the_circuit(
    platform: Platform, sink: FaultySink
) -> None:
    run = new_event_id()[-8:]
    refused, behind = f"refuse1-probe-{run}-", f"behind-probe-{run}-"
    await sink.stop()
    try:
        await produce(platform.kafka, platform.topic_prefix, alerts(refused, 1))
        # The only waiting alert, so it takes every relay failure and then carries the probe.
        await eventually(
            lambda: rows_for(platform, refused),
            until=lambda rows: len(rows) == 1 and rows[0]["attempts"] >= RELAY_FAILURES_TO_OPEN,
        )
    finally:
        await sink.start()
    await eventually(lambda: asyncio.sleep(0, sink.refusals), until=bool)
    await produce(platform.kafka, platform.topic_prefix, alerts(behind, 3))

    async def both() -> list[Any]:
        return await rows_for(platform, refused) + await rows_for(platform, behind)

    sent = await eventually(
        both,
        until=lambda rows: len(rows) == 4 and all(r["state"] == "sent" for r in rows),
        within=30,
    )
    print(f"pipeline breaker: the probe was refused {sink.refusals}, then {len(sent)} sent")
    assert sum(sink.copies(behind).values()) == 3
