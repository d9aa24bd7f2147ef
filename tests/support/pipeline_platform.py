"""The platform as the pipeline's fault tests run it, and a direct look at notify's ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest_asyncio

from tenderwire_notify.settings import NotifySettings
from tests.support.infrastructure import free_port
from tests.support.pipeline_events import new_tender_alert
from tests.support.pipeline_sink import FaultySink
from tests.support.platform import Platform


class PatientPlatform(Platform):
    def notify_settings(self) -> NotifySettings:
        # Probes at most every 2 s, so the relay's return is noticed soon after it happens.
        return super().notify_settings().model_copy(update={"breaker_max_cooldown_s": 2.0})


def sink_and_platform(
    platform_class: type[Platform] = Platform, *, jitter_s: float = 0.0
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The module-scoped `sink` and `platform` fixtures of a fault test: notify sends to a
    FaultySink of the module's own. Assign both to module names: `sink, platform = …`."""

    @pytest_asyncio.fixture(scope="module", name="sink")
    async def sink_fixture() -> AsyncIterator[FaultySink]:
        running = FaultySink(free_port(), jitter_s=jitter_s)
        await running.start()
        yield running
        await running.stop()

    @pytest_asyncio.fixture(scope="module", name="platform")
    async def platform_fixture(
        kafka_bootstrap: str, postgres_dsn: str, sink: FaultySink
    ) -> AsyncIterator[Platform]:
        running = platform_class(kafka_bootstrap, postgres_dsn, sink.port)
        await running.start()
        yield running
        await running.stop()

    return sink_fixture, platform_fixture


async def rows_for(platform: Platform, prefix: str) -> list[Any]:
    """Notify's ledger rows for suppliers whose id starts with `prefix`."""
    conn = await asyncpg.connect(platform.dsns["notify"])
    try:
        rows: list[Any] = await conn.fetch(
            "SELECT supplier_id, address, state, attempts, last_error FROM deliveries"
            " WHERE supplier_id LIKE $1 || '%' ORDER BY supplier_id",
            prefix,
        )
    finally:
        await conn.close()
    return rows


def alerts(prefix: str, count: int) -> list[Any]:
    """New-tender alerts for `count` suppliers, each with its own tender; the supplier id is
    also the address's local part."""
    return [
        new_tender_alert(f"{prefix}{n}", f"{prefix}{n}@example.org", f"tender-{prefix}{n}")
        for n in range(count)
    ]
