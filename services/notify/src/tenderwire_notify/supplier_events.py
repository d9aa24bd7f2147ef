"""Reactions to supplier events: a deactivated supplier gets nothing more."""

from __future__ import annotations

import structlog

from tenderwire_shared.db import Connection
from tenderwire_shared.envelope import RawEnvelope
from tenderwire_shared.events.suppliers import SUPPLIER_DEACTIVATED, SupplierChanged

log = structlog.get_logger()


async def on_supplier_event(conn: Connection, event: RawEnvelope) -> None:
    if event.type != SUPPLIER_DEACTIVATED:
        return
    supplier_id = SupplierChanged.model_validate(event.data).supplier.supplier_id
    await conn.execute(
        "INSERT INTO deactivated_suppliers (supplier_id) VALUES ($1) ON CONFLICT DO NOTHING",
        supplier_id,
    )
    dropped = await conn.execute(
        "UPDATE deliveries SET state = 'suppressed', last_error = 'supplier deactivated',"
        " updated_at = now() WHERE supplier_id = $1 AND state IN ('queued', 'batched')",
        supplier_id,
    )
    log.info("supplier_deactivated", supplier_id=supplier_id, dropped=int(dropped.split()[-1]))


async def is_deactivated(conn: Connection, supplier_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM deactivated_suppliers WHERE supplier_id = $1", supplier_id
        )
    )
