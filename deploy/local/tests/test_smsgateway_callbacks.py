"""The SMS stub's status callbacks are signed with the auth token the message was sent with,
and retried as a patient provider retries them: through a receiver that is down, answers 5xx
or 429, or asks for Retry-After; and not past a 4xx or the retry window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Form, Header, Response

from tenderwire_notify.sms import signature_matches
from tenderwire_stack.http_server import BackgroundServer
from tenderwire_stack.smsgateway import SmsGateway, SmsRecord
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port

# Real SMTP and HTTP servers on loopback: `make test`, not the fast tier.
pytestmark = pytest.mark.integration


@dataclass
class Receiver:
    """A status callback endpoint that answers each try from a script, then 204."""

    port: int = field(default_factory=free_port)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    signatures: list[str | None] = field(default_factory=list)
    server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/status"

    async def start(self) -> None:
        app = FastAPI()

        @app.post("/status")
        async def status(
            sid: Annotated[str, Form(alias="MessageSid")],
            state: Annotated[str, Form(alias="MessageStatus")],
            to: Annotated[str, Form(alias="To")],
            signature: Annotated[str | None, Header(alias="X-Twilio-Signature")] = None,
        ) -> Response:
            form = {"MessageSid": sid, "MessageStatus": state, "To": to}
            signed = signature is not None and signature_matches(
                AUTH_TOKEN, self.url, form.items(), signature
            )
            self.signatures.append(signature if signed else None)
            code, headers = self.script.pop(0) if self.script else (204, {})
            if code < 300:
                self.received.append(state)
            return Response(status_code=code, headers=headers)

        self.server = BackgroundServer(app, port=self.port)
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = Receiver()
    yield running
    await running.stop()


async def a_gateway(
    *, base_s: float = 0.05, cap_s: float = 60.0, window_s: float = 3600.0
) -> SmsGateway:
    gateway = SmsGateway(
        port=free_port(),
        callback_delay_s=0.01,
        callback_retry_base_s=base_s,
        callback_retry_cap_s=cap_s,
        callback_retry_window_s=window_s,
    )
    await gateway.start()
    return gateway


AUTH_TOKEN = "the-accounts-auth-token"  # noqa: S105 - a test credential


async def send(gateway: SmsGateway, callback: str, to: str = "+221770000001") -> SmsRecord:
    async with httpx.AsyncClient(base_url=gateway.server.url) as http:
        reply = await http.post(
            "/2010-04-01/Accounts/AC1/Messages.json",
            data={"To": to, "From": "TENDERS", "Body": "New tender", "StatusCallback": callback},
            auth=("AC1", AUTH_TOKEN),
        )
    assert reply.status_code == 201
    return gateway.messages[-1]


async def test_each_callback_is_signed_with_the_auth_token_it_was_sent_with(
    receiver: Receiver,
) -> None:
    await receiver.start()
    gateway = await a_gateway()
    try:
        await send(gateway, receiver.url)
        await eventually(_received(receiver), until=lambda r: r == ["sent", "delivered"])
        async with httpx.AsyncClient(base_url=gateway.server.url) as http:
            listed = (await http.get("/api/messages")).text
    finally:
        await gateway.stop()

    assert len(receiver.signatures) == 2
    assert None not in receiver.signatures
    assert AUTH_TOKEN not in listed


async def test_a_message_without_the_accounts_credentials_is_refused() -> None:
    gateway = await a_gateway()
    try:
        async with httpx.AsyncClient(base_url=gateway.server.url) as http:
            reply = await http.post(
                "/2010-04-01/Accounts/AC1/Messages.json",
                data={"To": "+221770000001", "From": "TENDERS", "Body": "New tender"},
            )
            listed = await http.get("/api/messages")
    finally:
        await gateway.stop()

    assert reply.status_code == 401
    assert gateway.messages == []
    assert listed.json() == []


async def test_callbacks_reach_a_receiver_that_was_down_when_they_started(
    receiver: Receiver,
) -> None:
    gateway = await a_gateway(base_s=0.05, cap_s=0.2)
    try:
        record = await send(gateway, receiver.url)
        await eventually(lambda: _replies(record), until=lambda r: len(r) >= 3)
        await receiver.start()
        await eventually(_received(receiver), until=lambda r: r == ["sent", "delivered"])
    finally:
        await gateway.stop()

    assert record.callback_replies[0] == "sent:ConnectError"
    assert record.callback_replies[-2:] == ["sent:204", "delivered:204"]
    assert not [s for s in record.statuses if s.startswith("callback-failed")]


@pytest.mark.parametrize("refusal", [500, 502, 503, 429])
async def test_callbacks_are_tried_again_after_5xx_and_429(
    receiver: Receiver, refusal: int
) -> None:
    receiver.script = [(refusal, {}), (refusal, {})]
    await receiver.start()
    gateway = await a_gateway(base_s=0.05)
    try:
        record = await send(gateway, receiver.url)
        await eventually(_received(receiver), until=lambda r: r == ["sent", "delivered"])
    finally:
        await gateway.stop()

    assert record.callback_replies == [
        f"sent:{refusal}",
        f"sent:{refusal}",
        "sent:204",
        "delivered:204",
    ]


async def test_retry_after_is_honoured_over_the_backoff(receiver: Receiver) -> None:
    # With an hour's backoff, only the receiver's "Retry-After: 0" lets this test finish.
    receiver.script = [(503, {"Retry-After": "0"}), (503, {"Retry-After": "0"})]
    await receiver.start()
    gateway = await a_gateway(base_s=3600.0, cap_s=3600.0)
    try:
        record = await send(gateway, receiver.url)
        await eventually(_received(receiver), until=lambda r: r == ["sent", "delivered"])
    finally:
        await gateway.stop()

    assert record.callback_replies == ["sent:503", "sent:503", "sent:204", "delivered:204"]


async def test_a_4xx_is_final_and_the_next_status_still_goes(receiver: Receiver) -> None:
    receiver.script = [(404, {})]
    await receiver.start()
    gateway = await a_gateway(base_s=0.05)
    try:
        record = await send(gateway, receiver.url)
        await eventually(_received(receiver), until=lambda r: r == ["delivered"])
    finally:
        await gateway.stop()

    assert record.callback_replies == ["sent:404", "delivered:204"]
    assert record.statuses == ["queued", "sent", "callback-failed:sent", "delivered"]


async def test_retries_stop_at_the_end_of_the_window(receiver: Receiver) -> None:
    receiver.script = [(503, {}), (503, {}), (503, {})]
    await receiver.start()
    gateway = await a_gateway(base_s=0.05, window_s=0.0)
    try:
        record = await send(gateway, receiver.url)
        statuses = await eventually(
            lambda: _statuses(record), until=lambda s: "callback-failed:delivered" in s
        )
    finally:
        await gateway.stop()

    assert record.callback_replies == ["sent:503", "delivered:503"]
    assert statuses == [
        "queued",
        "sent",
        "callback-failed:sent",
        "delivered",
        "callback-failed:delivered",
    ]
    assert receiver.received == []


async def _replies(record: SmsRecord) -> list[str]:
    await asyncio.sleep(0)
    return list(record.callback_replies)


async def _statuses(record: SmsRecord) -> list[str]:
    await asyncio.sleep(0)
    return list(record.statuses)


def _received(receiver: Receiver) -> Callable[[], Awaitable[list[str]]]:
    async def probe() -> list[str]:
        await asyncio.sleep(0)
        return list(receiver.received)

    return probe
