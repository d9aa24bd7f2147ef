"""SMS status callbacks that arrive while notify's database is down are not lost: notify
answers 503 with Retry-After, the provider (the SMS stub) retries, and once PostgreSQL is back
the delivery ends `delivered`.

The test has a PostgreSQL of its own, stopped and started again on the same data directory
and port, so no other test loses its database. Notify runs in-process from its real
`create_app`. The ledger row is written directly with SQL after notify's migrations, as the
worker would have left it, and the stub posts its signed callbacks to notify's
/v1/sms/status/{id}?provider=primary: the test does not depend on how the worker sends and records.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tenderwire_notify import sms_status
from tenderwire_notify.bootstrap import MIGRATIONS
from tenderwire_notify.bootstrap import create_app as notify_app
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SmsProvider, status_callback_url
from tenderwire_shared.db import create_pool, migrate
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.settings import Environment
from tenderwire_stack.http_server import BackgroundServer
from tenderwire_stack.postgres import PostgresCluster
from tenderwire_stack.smsgateway import SmsGateway, SmsRecord
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port
from tests.support.sms_callbacks import post_status

pytestmark = pytest.mark.integration

PRIMARY = SmsProvider(
    name="primary",
    base_url="http://127.0.0.1:9",  # the stub's, once it runs
    account_sid="ACprimary",
    auth_token=SecretStr("primary-auth-token"),
    sender="TENDERS",
)


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(tmp_path_factory.mktemp("outage") / "postgres", free_port())
    cluster.start()
    cluster.create_databases(("notify",))
    try:
        yield cluster
    finally:
        cluster.stop()
        cluster.destroy()


@pytest.fixture
async def ledger(own_postgres: PostgresCluster) -> AsyncIterator[asyncpg.Pool]:
    if not own_postgres.running():
        await asyncio.to_thread(own_postgres.start)
    pool = await create_pool(own_postgres.dsn("notify"), max_size=2)
    await migrate(pool, MIGRATIONS)
    yield pool
    await pool.close()


@pytest.fixture
async def gateway() -> AsyncIterator[SmsGateway]:
    # A short backoff cap, so the retry after PostgreSQL is back comes soon.
    running = SmsGateway(
        port=free_port(), callback_delay_s=0.05, callback_retry_base_s=0.2, callback_retry_cap_s=1
    )
    await running.start()
    yield running
    await running.stop()


async def an_sms_row(ledger: asyncpg.Pool, state: str) -> str:
    delivery_id = new_event_id()
    await ledger.execute(
        "INSERT INTO deliveries (id, supplier_id, tender_id, revision, kind, channel, address,"
        " language, timezone, match, state, attempts, provider_ref)"
        " VALUES ($1, $2, $3, 1, 'new', 'sms', '+221770001234', 'fr', 'Africa/Dakar', '{}',"
        " $4, 1, 'primary:SMpending')",
        delivery_id,
        f"supplier-{delivery_id}",
        f"tender-{delivery_id}",
        state,
    )
    return delivery_id


async def provider_accepts(gateway: SmsGateway, status_callback: str) -> SmsRecord:
    """What notify's SmsChannel posts; the stub then calls back "sent" and "delivered"."""
    async with httpx.AsyncClient(base_url=gateway.server.url) as http:
        reply = await http.post(
            "/2010-04-01/Accounts/ACprimary/Messages.json",
            data={
                "To": "+221770001234",
                "From": "TENDERS",
                "Body": "Nouvel appel",
                "StatusCallback": status_callback,
            },
            auth=(PRIMARY.account_sid, PRIMARY.auth_token.get_secret_value()),
        )
    assert reply.status_code == 201
    return gateway.messages[-1]


async def state_of(cluster: PostgresCluster, delivery_id: str) -> str | None:
    # A connection of its own each time: the pool's died with the server.
    conn = await asyncpg.connect(cluster.dsn("notify"))
    try:
        state: str | None = await conn.fetchval(
            "SELECT state FROM deliveries WHERE id = $1", delivery_id
        )
    finally:
        await conn.close()
    return state


async def replies(record: SmsRecord) -> list[str]:
    await asyncio.sleep(0)
    return list(record.callback_replies)


async def test_callbacks_sent_while_the_database_is_down_end_delivered(
    own_postgres: PostgresCluster,
    ledger: asyncpg.Pool,
    gateway: SmsGateway,
    kafka_bootstrap: str,
) -> None:
    delivery_id = await an_sms_row(ledger, "sent")
    notify_port = free_port()
    settings = NotifySettings(
        environment=Environment.TEST,
        database_url=own_postgres.dsn("notify"),
        public_base_url=f"http://127.0.0.1:{notify_port}",
        sms_providers=[PRIMARY.model_copy(update={"base_url": gateway.server.url})],
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{new_event_id()[-8:]}.",
    )
    notify = BackgroundServer(notify_app(settings), port=notify_port)
    await notify.start()
    try:
        await asyncio.to_thread(own_postgres.stop)
        record = await provider_accepts(
            gateway, status_callback_url(notify.url, PRIMARY, delivery_id)
        )
        await eventually(lambda: replies(record), until=lambda r: len(r) >= 2)
        await asyncio.to_thread(own_postgres.start)
        state = await eventually(
            lambda: state_of(own_postgres, delivery_id), until=lambda s: s == "delivered"
        )
    finally:
        if not own_postgres.running():
            await asyncio.to_thread(own_postgres.start)
        await notify.stop()

    assert state == "delivered"
    during_outage = record.callback_replies[:2]
    assert during_outage == ["sent:503", "sent:503"]
    assert record.callback_replies[-1] == "delivered:204"
    assert not [r for r in record.callback_replies if r.endswith(":500")]
    assert not [s for s in record.statuses if s.startswith("callback-failed")]


async def test_delivered_overtaking_the_workers_own_record_is_kept(ledger: asyncpg.Pool) -> None:
    """The worker records sends in batches, so "delivered" may come while the row is still
    'sending', and the provider's "sent" after it. Only the status callback runs here, over
    real HTTP and PostgreSQL; the worker's later write is played by the rule it keeps: it
    moves only 'sending' to 'sent'."""
    app = FastAPI()
    app.include_router(sms_status.router)
    app.state.pool = ledger
    server = BackgroundServer(app, port=free_port())
    app.state.settings = NotifySettings(
        environment=Environment.TEST, public_base_url=server.url, sms_providers=[PRIMARY]
    )
    delivery_id = await an_sms_row(ledger, "sending")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            replies = [
                await post_status(
                    http,
                    server.url,
                    PRIMARY,
                    delivery_id,
                    {"MessageSid": "SMpending", "MessageStatus": status},
                )
                for status in ("delivered", "sent")
            ]
    finally:
        await server.stop()
    late_sent = await ledger.execute(
        "UPDATE deliveries SET state = 'sent' WHERE id = $1 AND state = 'sending'", delivery_id
    )
    row = await ledger.fetchrow(
        "SELECT state, sent_at, last_error FROM deliveries WHERE id = $1", delivery_id
    )

    assert [r.status_code for r in replies] == [204, 204]
    assert late_sent == "UPDATE 0"
    assert row is not None
    assert row["state"] == "delivered"
    assert row["sent_at"] is not None
    assert row["last_error"] is None
