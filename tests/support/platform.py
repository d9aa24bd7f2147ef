"""Runs the three services in this test process, each on its own port, over real infrastructure."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from fastapi import FastAPI
from pydantic import SecretStr

from tenderwire_matching.bootstrap import create_app as matching_app
from tenderwire_matching.settings import MatchingSettings
from tenderwire_notices import services as notices_services
from tenderwire_notices.bootstrap import create_app as notices_app
from tenderwire_notices.settings import NoticesSettings
from tenderwire_notify.bootstrap import create_app as notify_app
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.sms import SmsProvider
from tenderwire_shared import topics
from tenderwire_shared.clock import ManualClock
from tenderwire_shared.envelope import new_event_id
from tenderwire_shared.settings import Environment
from tenderwire_stack.http_server import BackgroundServer
from tenderwire_stack.smsgateway import SmsGateway
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port
from tests.support.kafka_reader import group_lag, reset_group_to_earliest


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def create_database(admin_dsn: str, prefix: str) -> str:
    name = f"{prefix}_{new_event_id().replace('-', '')[-12:]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin_dsn, name)


# As long as production would want, so settings built with it pass in any environment.
OPERATOR_TOKEN = SecretStr("test-operator-token-of-production-length")
# What an on-call script sends to the operator views.
OPERATOR_HEADERS = {"Authorization": f"Bearer {OPERATOR_TOKEN.get_secret_value()}"}


# One per provider, so a callback signed with the wrong provider's token is refused.
SMS_AUTH_TOKENS = {name: SecretStr(f"{name}-auth-token") for name in ("primary", "secondary")}


def running(app: FastAPI) -> BackgroundServer:
    return BackgroundServer(app, port=free_port())


@dataclass
class Platform:
    kafka: str
    admin_dsn: str
    smtp_port: int
    topic_prefix: str = field(default_factory=lambda: f"t{new_event_id()[-8:]}.")
    notices: BackgroundServer | None = None
    matching: BackgroundServer | None = None
    notify: BackgroundServer | None = None
    notify_port: int = 0
    matching_port: int = 0
    notices_port: int = 0
    dsns: dict[str, str] = field(default_factory=dict)
    clock: ManualClock = field(default_factory=ManualClock)
    sms_gateways: dict[str, SmsGateway] = field(default_factory=dict)

    async def start(self) -> None:
        # Two SMS providers, so tests can switch the first off and watch the second take over.
        # Each forwards the texts sent to it to notify's inbound webhook, signed with its own
        # auth token (`SmsGateway.receive`, or POST /api/inbound).
        self.notify_port = free_port()
        # Known before matching starts: the portal's links in account messages name it.
        self.matching_port = free_port()
        self.notices_port = free_port()
        for name in ("primary", "secondary"):
            gateway = SmsGateway(
                port=free_port(),
                callback_delay_s=0.05,
                inbound_url=self.inbound_webhook_url(name),
                inbound_auth_token=SMS_AUTH_TOKENS[name].get_secret_value(),
            )
            await gateway.start()
            self.sms_gateways[name] = gateway
        for name in ("notices", "matching", "notify"):
            self.dsns[name] = await create_database(self.admin_dsn, name)
        kafka, prefix = self.kafka, self.topic_prefix
        # Each service knows where the others are, as a deployment's settings say: alerts
        # link to this notices' pages, the notice pages to this portal, the portal reads notify.
        self.notices = BackgroundServer(
            notices_app(
                NoticesSettings(
                    environment=Environment.TEST,
                    database_url=self.dsns["notices"],
                    closer_interval_s=0.2,
                    kafka_bootstrap_servers=kafka,
                    topic_prefix=prefix,
                    public_base_url=f"http://127.0.0.1:{self.notices_port}",
                    portal_base_url=f"http://127.0.0.1:{self.matching_port}/portal",
                ),
                clock=self.clock,
            ),
            port=self.notices_port,
        )
        self.matching = BackgroundServer(
            matching_app(self.matching_settings()), port=self.matching_port
        )
        self.notify = BackgroundServer(
            notify_app(self.notify_settings(), clock=self.clock), port=self.notify_port
        )
        try:
            await asyncio.gather(self.notices.start(), self.matching.start(), self.notify.start())
        except BaseException:
            await self.stop()
            raise

    def operator_env(self) -> dict[str, str]:
        """What `tw` needs to read this platform, as an operator's shell would export it."""
        return {
            "TW_KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "TW_TOPIC_PREFIX": self.topic_prefix,
            **{f"TW_{name.upper()}_DATABASE_URL": dsn for name, dsn in self.dsns.items()},
        }

    def inbound_webhook_url(self, provider: str) -> str:
        """notify's inbound SMS webhook as `provider` calls it (the URL its signature is over)."""
        return f"http://127.0.0.1:{self.notify_port}/v1/sms/inbound?provider={provider}"

    def notify_settings(self) -> NotifySettings:
        return NotifySettings(
            environment=Environment.TEST,
            database_url=self.dsns["notify"],
            public_base_url=f"http://127.0.0.1:{self.notify_port}",
            smtp_port=self.smtp_port,
            retry_base_delay_s=0.2,
            digest_interval_s=0.2,
            sms_providers=[
                SmsProvider(
                    name=name,
                    base_url=gateway.server.url,
                    account_sid=f"AC{name}",
                    auth_token=SMS_AUTH_TOKENS[name],
                    sender="TENDERS",
                )
                for name, gateway in self.sms_gateways.items()
            ],
            kafka_bootstrap_servers=self.kafka,
            topic_prefix=self.topic_prefix,
            operator_token=OPERATOR_TOKEN,
        )

    async def restart_notify_from_earliest(self) -> None:
        """Stop notify, move its consumer group back to offset 0, start it again."""
        assert self.notify is not None
        await self.notify.stop()
        settings = self.notify_settings()
        await reset_group_to_earliest(
            self.kafka, settings.consumer_group, settings.topic(topics.MATCHES)
        )
        self.notify = BackgroundServer(
            notify_app(settings, clock=self.clock), port=self.notify_port
        )
        await self.notify.start()

    async def wait_for_notify_to_catch_up(self) -> int:
        settings = self.notify_settings()
        return await _caught_up(self.kafka, settings.consumer_group, settings.topic(topics.MATCHES))

    def matching_settings(self) -> MatchingSettings:
        return MatchingSettings(
            environment=Environment.TEST,
            database_url=self.dsns["matching"],
            kafka_bootstrap_servers=self.kafka,
            topic_prefix=self.topic_prefix,
            operator_token=OPERATOR_TOKEN,
            public_base_url=f"http://127.0.0.1:{self.matching_port}",
            notify_url=f"http://127.0.0.1:{self.notify_port}",
            notices_public_url=f"http://127.0.0.1:{self.notices_port}",
        )

    async def restart_matching_from_earliest(self) -> None:
        """Stop matching, move its consumer group back to offset 0, start it again."""
        assert self.matching is not None
        await self.matching.stop()
        settings = self.matching_settings()
        await reset_group_to_earliest(
            self.kafka, settings.consumer_group, settings.topic(topics.TENDERS)
        )
        self.matching = BackgroundServer(matching_app(settings), port=self.matching_port)
        await self.matching.start()

    async def wait_for_matching_to_catch_up(self) -> int:
        """Wait until matching has committed every tender event; returns how many there are."""
        settings = self.matching_settings()
        return await _caught_up(self.kafka, settings.consumer_group, settings.topic(topics.TENDERS))

    async def new_agency(self, code: str | None = None) -> tuple[str, str]:
        """A fresh agency and an API key for it: (agency code, key)."""
        code = code or f"AG{new_event_id()[-10:].upper()}"
        conn = await asyncpg.connect(self.dsns["notices"])
        try:
            await notices_services.create_agency(conn, code, f"Agency {code}")
            key = await notices_services.issue_key(conn, code, label="tests")
        finally:
            await conn.close()
        return code, key

    async def stop(self) -> None:
        for app in (self.notices, self.matching, self.notify):
            if app is not None:
                await app.stop()
        for gateway in self.sms_gateways.values():
            await gateway.stop()


async def _caught_up(kafka: str, group: str, topic: str) -> int:
    """Wait until `group` has committed every record of `topic`; returns how many there are."""
    _, total = await eventually(
        lambda: group_lag(kafka, group, topic),
        until=lambda lag_and_total: lag_and_total[0] == 0,
    )
    return total
