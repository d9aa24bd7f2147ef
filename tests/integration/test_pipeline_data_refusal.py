"""A relay that answers 451 at the end of DATA (a content filter's soft reject) is up and
refusing one message: that message waits its backoff like any refused message, and the
channel's circuit, which is for relays that are down, stays out of it."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.envelope import new_event_id
from tests.support.eventually import eventually
from tests.support.pipeline_events import produce
from tests.support.pipeline_platform import alerts, rows_for, sink_and_platform
from tests.support.pipeline_sink import FaultySink
from tests.support.platform import Platform

pytestmark = pytest.mark.integration

BASE_DELAY_S = 5.0  # the first backoff is at least half of it


class SlowRetryPlatform(Platform):
    def notify_settings(self) -> NotifySettings:
        # A backoff long enough to tell apart from "again at once" in the ledger.
        return super().notify_settings().model_copy(update={"retry_base_delay_s": BASE_DELAY_S})


sink, platform = sink_and_platform(SlowRetryPlatform)


async def waits(platform: Platform, supplier_id: str) -> Any:
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        return await conn.fetchrow(
            "SELECT state, attempts, last_error,"
            " extract(epoch FROM next_attempt_at - updated_at)::float AS wait_s"
            " FROM deliveries WHERE supplier_id = $1",
            supplier_id,
        )
    finally:
        await conn.close()


async def test_a_message_refused_at_data_waits_its_backoff_and_the_rest_still_go(
    platform: Platform, sink: FaultySink
) -> None:
    run = new_event_id()[-8:]
    refused, others = f"datafail-{run}-", f"after-datafail-{run}-"
    await produce(platform.kafka, platform.topic_prefix, alerts(refused, 1))
    first = await eventually(
        lambda: waits(platform, f"{refused}0"),
        until=lambda row: row is not None and row["state"] == "queued" and row["last_error"],
    )
    await produce(platform.kafka, platform.topic_prefix, alerts(others, 5))
    sent = await eventually(
        lambda: rows_for(platform, others),
        until=lambda rows: len(rows) == 5 and all(r["state"] == "sent" for r in rows),
    )
    print(
        f"pipeline data refusal: after its first 451 the row waited {first['wait_s']:.2f} s"
        f" at attempt {first['attempts']}; {len(sent)} others sent"
    )
    assert first["last_error"].startswith("SMTP 451"), first
    assert first["attempts"] == 1, first
    assert first["wait_s"] >= BASE_DELAY_S / 4, first
