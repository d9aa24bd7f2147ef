"""The local sinks over their real protocols: SMTP for the mail catcher, HTTP for the SMS stub."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest
from fastapi import FastAPI, Form

from tenderwire_stack.http_server import BackgroundServer
from tenderwire_stack.mailcatcher import MailCatcher
from tenderwire_stack.smsgateway import SmsGateway
from tests.support.eventually import eventually
from tests.support.infrastructure import free_port

# Real SMTP and HTTP servers on loopback: `make test`, not the fast tier.
pytestmark = pytest.mark.integration


def a_message(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "alerts@example.org"
    message["To"] = to
    message["Subject"] = "Hello"
    message.set_content("body")
    return message


async def test_the_mail_catcher_keeps_what_it_accepts_and_fails_on_request() -> None:
    catcher = MailCatcher(smtp_port=free_port(), http_port=free_port())
    await catcher.start()
    try:
        await aiosmtplib.send(
            a_message("ok@example.org"), hostname="127.0.0.1", port=catcher.smtp_port
        )
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as temporary:
            await aiosmtplib.send(
                a_message("tempfail-1@example.org"), hostname="127.0.0.1", port=catcher.smtp_port
            )
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as permanent:
            await aiosmtplib.send(
                a_message("bounce@example.org"), hostname="127.0.0.1", port=catcher.smtp_port
            )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{catcher.http_port}") as http:
            listed = (await http.get("/api/messages")).json()
            page = (await http.get("/")).text
    finally:
        await catcher.stop()

    assert temporary.value.recipients[0].code == 451
    assert permanent.value.recipients[0].code == 550
    assert [(m["recipients"], m["subject"]) for m in listed] == [(["ok@example.org"], "Hello")]
    assert "ok@example.org" in page


async def test_the_sms_stub_answers_like_twilio_and_reports_status_to_the_callback() -> None:
    received: list[tuple[str, str]] = []
    callbacks = FastAPI()

    @callbacks.post("/status")
    async def status(
        sid: str = Form(alias="MessageSid"), state: str = Form(alias="MessageStatus")
    ) -> None:
        received.append((sid, state))

    receiver = BackgroundServer(callbacks, port=free_port())
    gateway = SmsGateway(port=free_port(), callback_delay_s=0.01)
    await receiver.start()
    await gateway.start()
    try:
        async with httpx.AsyncClient(base_url=gateway.server.url) as http:
            sent = await http.post(
                "/2010-04-01/Accounts/AC1/Messages.json",
                data={
                    "To": "+221770000001",
                    "From": "TENDERS",
                    "Body": "New tender",
                    "StatusCallback": f"{receiver.url}/status",
                },
                auth=("AC1", "token"),
            )
            refused = await http.post(
                "/2010-04-01/Accounts/AC1/Messages.json",
                data={"To": "+221779999999", "From": "TENDERS", "Body": "x"},
                auth=("AC1", "token"),
            )
            missing = await http.post("/2010-04-01/Accounts/AC1/Messages.json", data={"To": "1"})
        sid = sent.json()["sid"]

        async def statuses() -> list[tuple[str, str]]:
            await asyncio.sleep(0)
            return list(received)

        await eventually(statuses, until=lambda r: len(r) == 2)
    finally:
        await gateway.stop()
        await receiver.stop()

    assert sent.status_code == 201
    assert sent.json()["status"] == "queued"
    assert refused.status_code == 500
    assert missing.status_code == 422
    assert received == [(sid, "sent"), (sid, "delivered")]
    assert [m.body for m in gateway.messages] == ["New tender"]
