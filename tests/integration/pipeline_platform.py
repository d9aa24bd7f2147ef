"""The platform as the pipeline's fault tests run it, and a direct look at notify's ledger."""

from __future__ import annotations

from typing import Any

import asyncpg

from tenderwire_notify.settings import NotifySettings
from tests.integration.pipeline_events import new_tender_alert
from tests.platform import Platform


class PatientPlatform(Platform):
    def notify_settings(self) -> NotifySettings:
        # Probes at most every 2 s, so the relay's return is noticed soon after it happens.
        return super().notify_settings().model_copy(update={"breaker_max_cooldown_s": 2.0})


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
