"""The SMS stub's inbound texts, in process: `POST /api/inbound` forwards a text to the
configured webhook as a Twilio-style form, signed as Twilio signs it (checked here with
notify's own checker, as the two must agree), and records each `<Message>` of the TwiML
answer as a message back to the sender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from tenderwire_notify.sms import signature_matches
from tenderwire_stack.smsgateway import SmsGateway, provider_signature, twiml_messages

WEBHOOK = "https://notify.example.org/v1/sms/inbound?provider=primary"
AUTH_TOKEN = "the-accounts-auth-token"  # noqa: S105 - a test credential
PHONE = "+258840001122"


@dataclass
class Webhook:
    """notify's side: checks each text's signature, answers from a script."""

    status: int = 200
    answer: str = "<Response><Message>Tenderwire: stopped.</Message></Response>"
    received: list[dict[str, str]] = field(default_factory=list)
    signed: list[bool] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/sms/inbound")
        async def inbound(request: Request) -> Response:
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            self.received.append(form)
            signature = request.headers.get("X-Twilio-Signature", "")
            self.signed.append(signature_matches(AUTH_TOKEN, WEBHOOK, form.items(), signature))
            return Response(self.answer, status_code=self.status, media_type="application/xml")

        return app


def a_gateway(
    webhook: Webhook | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> SmsGateway:
    if transport is None and webhook is not None:
        transport = httpx.ASGITransport(app=webhook.app())
    return SmsGateway(
        port=0,
        inbound_url=WEBHOOK if webhook or transport else None,
        inbound_auth_token=AUTH_TOKEN if webhook or transport else None,
        inbound_transport=transport,
    )


@pytest.fixture
def webhook() -> Webhook:
    return Webhook()


@pytest.fixture
async def stub(webhook: Webhook) -> AsyncIterator[httpx.AsyncClient]:
    gateway = a_gateway(webhook)
    transport = httpx.ASGITransport(app=gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sms.test") as client:
        yield client


async def send_text(stub: httpx.AsyncClient, **text: Any) -> httpx.Response:
    return await stub.post("/api/inbound", json={"from": PHONE, "body": "PARAR", **text})


async def test_a_text_is_forwarded_signed_as_twilio_signs_and_the_reply_sent_back(
    stub: httpx.AsyncClient, webhook: Webhook
) -> None:
    answer = await send_text(stub, to="+15005550006")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": 200, "replies": ["Tenderwire: stopped."]}
    (form,) = webhook.received
    assert webhook.signed == [True]
    assert {k: form[k] for k in ("From", "To", "Body")} == {
        "From": PHONE,
        "To": "+15005550006",
        "Body": "PARAR",
    }
    assert form["MessageSid"].startswith("SM")
    messages = (await stub.get("/api/messages")).json()
    assert [(m["to"], m["from_"], m["body"], m["in_reply_to"]) for m in messages] == [
        (PHONE, "+15005550006", "Tenderwire: stopped.", form["MessageSid"])
    ]
    assert messages[0]["status_callback"] is None


async def test_a_text_goes_to_the_number_the_last_alert_came_from(
    stub: httpx.AsyncClient, webhook: Webhook
) -> None:
    sent = await stub.post(
        "/2010-04-01/Accounts/AC1/Messages.json",
        data={"To": PHONE, "From": "+15005550006", "Body": "New tender"},
        auth=("AC1", AUTH_TOKEN),
    )
    assert sent.status_code == 201

    await send_text(stub)
    await send_text(stub, **{"from": "+221770000001"})

    assert [form["To"] for form in webhook.received] == ["+15005550006", "TENDERS"]


async def test_every_message_of_the_answer_is_sent_back_and_escapes_are_read(
    stub: httpx.AsyncClient, webhook: Webhook
) -> None:
    webhook.answer = (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        "<Message>Help: Ops &amp; Co &lt;help@x.org&gt;</Message>"
        "<Message><Body>second</Body></Message></Response>"
    )

    answer = await send_text(stub, body="HELP")

    assert answer.json()["replies"] == ["Help: Ops & Co <help@x.org>", "second"]
    messages = (await stub.get("/api/messages")).json()
    assert [m["body"] for m in messages] == ["Help: Ops & Co <help@x.org>", "second"]


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (200, '<?xml version="1.0" encoding="UTF-8"?><Response/>'),
        (200, ""),
        (403, '{"detail": [{"loc": ["header", "X-Twilio-Signature"]}]}'),
        (503, '{"detail": []}'),
    ],
)
async def test_no_reply_is_sent_for_an_empty_or_refused_answer(
    stub: httpx.AsyncClient, webhook: Webhook, status: int, answer: str
) -> None:
    webhook.status, webhook.answer = status, answer

    reply = await send_text(stub, body="thanks")

    assert reply.json() == {"status": status, "replies": []}
    assert (await stub.get("/api/messages")).json() == []


async def test_the_webhook_can_be_set_over_http() -> None:
    webhook = Webhook()
    gateway = a_gateway(transport=httpx.ASGITransport(app=webhook.app()))
    gateway.inbound_url = gateway.inbound_auth_token = None
    transport = httpx.ASGITransport(app=gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sms.test") as stub:
        before = await send_text(stub)
        put = await stub.put(
            "/api/inbound-webhook", json={"url": WEBHOOK, "auth_token": AUTH_TOKEN}
        )
        after = await send_text(stub)

    assert before.status_code == 409
    assert "inbound-webhook" in before.json()["detail"]
    assert put.status_code == 204
    assert after.json()["status"] == 200
    assert webhook.signed == [True]


async def test_a_webhook_that_cannot_be_reached_is_a_502() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    gateway = a_gateway(transport=httpx.MockTransport(refuse))
    transport = httpx.ASGITransport(app=gateway.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sms.test") as stub:
        answer = await send_text(stub)

    assert answer.status_code == 502
    assert "ConnectError" in answer.json()["detail"]
    assert gateway.messages == []


@pytest.mark.parametrize(
    "text",
    [{"body": "x" * 1601}, {"from": ""}, {"body": None}, {"to": "+1" * 30}],
    ids=["too long", "no sender", "no body", "long to"],
)
async def test_a_malformed_text_is_refused_by_the_stub(
    stub: httpx.AsyncClient, webhook: Webhook, text: dict[str, Any]
) -> None:
    answer = await send_text(stub, **text)

    assert answer.status_code == 422
    assert webhook.received == []


def test_the_stubs_signature_is_twilios_on_its_documented_example() -> None:
    # twilio.com/docs/usage/webhooks/webhooks-security, the worked example.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }

    signature = provider_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)

    assert signature == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_an_answer_that_is_not_twiml_has_no_messages() -> None:
    assert twiml_messages(b"<html><Message>x</Message></html>") == []
    assert twiml_messages(b"not xml <") == []
    assert twiml_messages(b"<Response><Message/></Response>") == [""]
