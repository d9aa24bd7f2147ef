"""Kill notify with SIGKILL in the middle of a batch and start it again: every alert arrives,
and any alert sent twice (the SMTP window) carries the same Message-ID both times."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from tenderwire_shared import topics
from tenderwire_shared.envelope import Envelope, new_event_id
from tenderwire_shared.events.matches import MatchCreated
from tenderwire_stack.mailcatcher import MailCatcher
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port
from tests.support.pipeline_events import new_tender_alert
from tests.support.platform import create_database
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.integration

ALERTS = 60


def alert(n: int, run: str) -> Envelope[MatchCreated]:
    supplier_id = f"crash-{run}-{n}"
    return new_tender_alert(supplier_id, f"{supplier_id}@example.org", f"tender-{run}")


async def test_a_killed_notify_sends_every_alert_after_restart_never_a_new_copy(
    kafka_bootstrap: str, postgres_dsn: str, mail_catcher: MailCatcher, tmp_path: Path
) -> None:
    run = new_event_id()[-8:]
    prefix = f"ncrash{run}."
    service = ServiceProcess(
        "tenderwire_notify.bootstrap:create_app",
        tmp_path,
        free_port(),
        {
            "TW_NOTIFY_DATABASE_URL": await create_database(postgres_dsn, "notify_crash"),
            "TW_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "TW_TOPIC_PREFIX": prefix,
            "TW_NOTIFY_SMTP_PORT": str(mail_catcher.smtp_port),
            "TW_NOTIFY_STALE_SENDING_S": "1",
            "TW_LOG_LEVEL": "WARNING",
        },
    )
    await service.start()

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for n in range(ALERTS):
            event = alert(n, run)
            await producer.send(
                f"{prefix}{topics.MATCHES}",
                event.model_dump_json().encode(),
                key=event.subject.encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()

    def caught() -> list[dict[str, object]]:
        return [
            {"to": m.recipients[0], "message_id": m.message_id}
            for m in mail_catcher.store.all()
            if m.recipients and m.recipients[0].startswith(f"crash-{run}-")
        ]

    async def poll() -> list[dict[str, object]]:
        await asyncio.sleep(0)
        return caught()

    try:
        await eventually(poll, until=lambda m: len(m) >= ALERTS // 4)
        service.kill()  # mid-batch: some sent, some claimed, some still on Kafka
        await service.start()
        await eventually(poll, until=lambda m: len({x["to"] for x in m}) == ALERTS)
    finally:
        service.process.stop()

    print(f"notify crash: {len(caught())} e-mails caught for {ALERTS} alerts")
    copies: dict[object, set[object]] = defaultdict(set)
    for mail in caught():
        copies[mail["to"]].add(mail["message_id"])
    assert len(copies) == ALERTS
    assert all(len(ids) == 1 for ids in copies.values()), "a resend must reuse its Message-ID"
