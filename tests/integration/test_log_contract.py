"""The log contract, held over a full pipeline run with each service in its own process.

One tender goes from an agency's HTTP request to an e-mail and an SMS, one poison record
is dead-lettered on the way, and an operator looks it all up in the console. Afterwards every
line each process wrote must be a JSON object with the contract's keys, tagged with that
process's service, and the agency's correlation id must be found in all three pipeline
services, down to the notification sent.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tenderwire_notices import services as notices_services
from tenderwire_shared import topics
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.logging import CONTRACT_KEYS
from tenderwire_stack.mailcatcher import MailCatcher
from tenderwire_stack.smsgateway import SmsGateway
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port
from tests.support.matching_helpers import supplier, tender
from tests.support.platform import create_database
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.integration

SERVICES = ("notices", "matching", "notify", "console")
DATABASES = ("notices", "matching", "notify")
LEVELS = {"debug", "info", "warning", "error", "critical"}


async def _start_services(
    kafka: str, admin_dsn: str, smtp_port: int, sms: SmsGateway, run_dir: Path
) -> tuple[dict[str, ServiceProcess], dict[str, str]]:
    dsns = {name: await create_database(admin_dsn, f"{name}_logs") for name in DATABASES}
    ports = {name: free_port() for name in SERVICES}
    common = {
        "TW_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "TW_TOPIC_PREFIX": f"logs{new_event_id()[-8:]}.",
        "TW_LOG_LEVEL": "INFO",
        "TW_OPERATOR_TOKEN": "log-contract",
    }
    own = {
        "notices": {"TW_NOTICES_DATABASE_URL": dsns["notices"]},
        "matching": {"TW_MATCHING_DATABASE_URL": dsns["matching"]},
        "notify": {
            "TW_NOTIFY_DATABASE_URL": dsns["notify"],
            "TW_NOTIFY_SMTP_PORT": str(smtp_port),
            "TW_NOTIFY_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['notify']}",
            "TW_NOTIFY_SMS_PROVIDERS": json.dumps(
                [
                    {
                        "name": "stub",
                        "base_url": sms.server.url,
                        "account_sid": "AClogs",
                        "auth_token": "t",
                        "sender": "TENDERS",
                    }
                ]
            ),
        },
    }
    own["console"] = {f"TW_CONSOLE_{name.upper()}_DATABASE_URL": dsns[name] for name in DATABASES}
    processes = {
        name: ServiceProcess(
            f"tenderwire_{name}.bootstrap:create_app",
            run_dir,
            ports[name],
            {**common, **own[name]},
        )
        for name in SERVICES
    }
    await asyncio.gather(*(p.start() for p in processes.values()))
    return processes, {**dsns, "prefix": common["TW_TOPIC_PREFIX"]}


async def _sent(notify_dsn: str, supplier_id: str) -> list[str]:
    conn = await asyncpg.connect(notify_dsn)
    try:
        rows = await conn.fetch(
            "SELECT channel FROM deliveries"
            " WHERE supplier_id = $1 AND state IN ('sent', 'delivered')",
            supplier_id,
        )
    finally:
        await conn.close()
    return sorted(r["channel"] for r in rows)


async def _drive_one_tender(
    processes: dict[str, ServiceProcess], where: dict[str, str], kafka: str, correlation_id: str
) -> dict[str, Any]:
    conn = await asyncpg.connect(where["notices"])
    try:
        await notices_services.create_agency(conn, "LOGS", "Log contract agency")
        key = await notices_services.issue_key(conn, "LOGS")
    finally:
        await conn.close()
    async with httpx.AsyncClient(timeout=10.0) as http:
        registered = await http.post(
            f"{processes['matching'].url}/v1/suppliers",
            json=supplier(phone="+221 77 000 98 76", unspsc_codes=["42131606"]),
            # Vouched for, so its contacts are verified and it gets the alert at once.
            headers={"Authorization": "Bearer log-contract"},
        )
        assert registered.status_code == 201, registered.text
        published = await http.post(
            f"{processes['notices'].url}/v1/notices",
            json=tender(unspsc_codes=["42131606"]),
            headers={"Authorization": f"Bearer {key}", "X-Correlation-ID": correlation_id},
        )
        assert published.status_code == 201, published.text
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        await producer.send_and_wait(f"{where['prefix']}{topics.TENDERS}", b"\x00not json")
    finally:
        await producer.stop()
    body: dict[str, Any] = registered.json()
    await eventually(
        lambda: _sent(where["notify"], body["id"]), until=lambda c: c == ["email", "sms"]
    )
    return {**body, "tender_id": published.json()["id"]}


async def _look_through_the_console(console: ServiceProcess, supplier: dict[str, Any]) -> None:
    """What an operator does after an alert: the tender, the supplier, the live feed."""
    async with httpx.AsyncClient(timeout=10.0, auth=("oncall", "log-contract")) as http:
        for path in ("/", f"/tenders/{supplier['tender_id']}", f"/suppliers/{supplier['id']}"):
            response = await http.get(f"{console.url}{path}")
            assert response.status_code == 200, (path, response.text[:500])
        async with http.stream("GET", f"{console.url}/feed/stream", params={"last": 5}) as feed:
            async for line in feed.aiter_lines():
                if line.startswith("event: ready"):
                    break


def _read_log(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines, f"{path} is empty"
    parsed = []
    for number, line in enumerate(lines, 1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"{path.name} line {number} is not JSON: {line[:300]}")
    return parsed


async def test_every_line_of_every_service_follows_the_contract(
    kafka_bootstrap: str, postgres_dsn: str, mail_catcher: MailCatcher, tmp_path: Path
) -> None:
    sms = SmsGateway(port=free_port(), callback_delay_s=0.05)
    await sms.start()
    correlation_id = f"agency-req-{new_event_id()}"
    processes: dict[str, ServiceProcess] = {}
    try:
        processes, where = await _start_services(
            kafka_bootstrap, postgres_dsn, mail_catcher.smtp_port, sms, tmp_path
        )
        registered = await _drive_one_tender(processes, where, kafka_bootstrap, correlation_id)
        await _look_through_the_console(processes["console"], registered)
    finally:
        # SIGTERM: shutdown lines must follow the contract too.
        for process in processes.values():
            process.process.stop()
        await sms.stop()

    logs = {name: _read_log(p.process.log_file) for name, p in processes.items()}
    for name, lines in logs.items():
        for line in lines:
            missing = [key for key in CONTRACT_KEYS if key not in line]
            assert not missing, f"{name}: {line} lacks {missing}"
            assert line["service"] == name, line
            assert line["level"] in LEVELS, line
            assert isinstance(line["event"], str), line
            assert line["event"], line
            assert datetime.fromisoformat(line["timestamp"]).utcoffset() == timedelta(0), line

    def events(name: str, **match: Any) -> list[dict[str, Any]]:
        return [line for line in logs[name] if all(line.get(k) == v for k, v in match.items())]

    # One correlation id from the agency's request to both notifications.
    assert events("notices", event="http_request", correlation_id=correlation_id)
    assert events("notices", event="event_published", correlation_id=correlation_id)
    assert events("matching", event="event_consumed", correlation_id=correlation_id)
    assert events("matching", event="event_published", correlation_id=correlation_id)
    assert events("notify", event="event_consumed", correlation_id=correlation_id)
    sent = events("notify", event="notification_sent", correlation_id=correlation_id)
    assert sorted(line["channel"] for line in sent) == ["email", "sms"]
    for line in sent:
        assert line["notification_id"]
        assert line["tender_id"]
        assert line["supplier_id"] == registered["id"]
        assert isinstance(line["duration_ms"], float)
    consumed = events("matching", event="event_consumed", correlation_id=correlation_id)
    assert consumed[0]["event_type"] == "tender.published"
    assert consumed[0]["event_id"]
    assert consumed[0]["tender_id"] == sent[0]["tender_id"]

    # The poison record is reported, with its reason, and does not break the contract.
    (dead,) = events("matching", event="event_dead_lettered")
    assert dead["level"] == "warning"
    assert "invalid envelope" in dead["error"]
    # uvicorn's own lines come through the same renderer.
    assert events("notify", event="library_log", logger="uvicorn.error")
    assert len(events("console", event="http_request", status=200)) >= 4
    # uvicorn's access line would repeat http_request with the query string unmasked.
    assert not [
        line for lines in logs.values() for line in lines if line.get("logger") == "uvicorn.access"
    ]

    everything = "\n".join(p.process.log_file.read_text() for p in processes.values())
    for secret in (registered["email"], "+221770009876", "77 000 98 76"):
        assert secret not in everything
