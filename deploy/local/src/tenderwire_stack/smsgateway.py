"""An HTTP stub of a Twilio-style SMS Messages API that records messages and calls back.

POST /2010-04-01/Accounts/{account}/Messages.json takes the form fields To, From, Body and
StatusCallback, answers with a sid and status "queued", then reports "sent" and "delivered"
to the callback URL. A To number ending in 0000 is reported "undelivered" instead, and
numbers ending in 9999 are refused with HTTP 500, so tests can drive failover.

Like Twilio, the stub wants HTTP Basic auth (account SID and auth token; 401 without it) and
signs each callback with that auth token: `X-Twilio-Signature`, base64 HMAC-SHA1 of the
callback URL followed by each form field's name and value, sorted by name. It computes the
signature on its own rather than with notify's code, as a real provider would, so a test of
the two together checks that notify follows the published algorithm.

Callbacks are retried as a patient provider retries them, so a receiver that is briefly
down loses none: a refused or dropped connection, a timeout, HTTP 429 or any 5xx is tried
again after `callback_retry_base_s`, doubling each time up to `callback_retry_cap_s`, or
after the receiver's Retry-After (seconds or an HTTP date) when it gives one, up to the same
cap; the stub gives up `callback_retry_window_s` after the first try (4 hours by default,
like GOV.UK Notify's SMS retry period). Other 4xx answers are final, as a retry cannot mend
them. A message's "delivered" waits for its "sent" to get through, so they arrive in order.

Inbound texts, as a phone replying to an alert: `POST /api/inbound` with JSON
`{"from": "+258840001122", "to": "+15005550006", "body": "PARAR"}` ("to" is optional: the
number's last alert came from it, else "TENDERS") posts a Twilio-style inbound form (From,
To, Body, MessageSid, AccountSid, NumSegments, NumMedia) to the configured inbound webhook,
signed as Twilio signs it with the configured auth token. The webhook is set when the stub is
built (`inbound_url`, `inbound_auth_token`) or by `PUT /api/inbound-webhook` with JSON
`{"url": ..., "auth_token": ...}`, which the local stack does once notify's address is known.
Each `<Message>` of the TwiML answer is recorded as a message from that number's side back to
the sender (`to` is the sender, `in_reply_to` the inbound message's sid), listed by
`GET /api/messages` like any other. The answer is `{"status": <the webhook's HTTP status>,
"replies": [<each reply's text>]}`; 409 when no webhook is set, 502 when it cannot be reached.

What real providers do, as far as we know it: Twilio retries a webhook only as its URL's
connection overrides say (`#rc=` retries, up to 5, `rp=` which failures: connect timeouts by
default, or 4xx, 5xx, all), and we know of no documented Retry-After support; other providers
retry delivery receipts for hours. The stub is more patient than Twilio's default on purpose:
notify must cope with the patient ones, and its 503 + Retry-After is what they act on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Form, Header, HTTPException, Response
from pydantic import BaseModel, Field

from tenderwire_stack.http_server import BackgroundServer


@dataclass
class SmsRecord:
    sid: str
    account: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    created_at: str
    auth_token: str = field(repr=False)
    statuses: list[str] = field(default_factory=list)
    # One entry per callback try, "<status>:<HTTP status or error>", for tests and debugging.
    callback_replies: list[str] = field(default_factory=list)
    # Set on a reply to an inbound text: that text's sid.
    in_reply_to: str | None = None


@dataclass
class InboundRecord:
    """A text a phone sent to the provider, and what the webhook answered."""

    sid: str
    from_: str
    to: str
    body: str
    created_at: str
    webhook_status: int | None = None
    replies: list[str] = field(default_factory=list)


class WebhookUnreachableError(RuntimeError):
    """The inbound webhook did not answer (refused, timed out, dropped)."""


class InboundText(BaseModel):
    from_: str = Field(alias="from", min_length=1, max_length=40)
    to: str | None = Field(default=None, max_length=40)
    body: str = Field(max_length=1600)


class InboundWebhook(BaseModel):
    url: str = Field(min_length=1, max_length=2000)
    auth_token: str = Field(min_length=1, max_length=200)


class SmsGateway:
    def __init__(
        self,
        *,
        port: int,
        callback_delay_s: float = 0.2,
        handle_signals: bool = False,
        callback_retry_base_s: float = 1.0,
        callback_retry_cap_s: float = 60.0,
        callback_retry_window_s: float = 4 * 3600.0,
        inbound_url: str | None = None,
        inbound_auth_token: str | None = None,
        inbound_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.port = port
        # Where inbound texts go, and the auth token that signs them (as Twilio's number
        # configuration and the account's token).
        self.inbound_url = inbound_url
        self.inbound_auth_token = inbound_auth_token
        self.inbound: list[InboundRecord] = []
        # For tests that serve the webhook in process; None is the network.
        self._inbound_transport = inbound_transport
        # Set by tests to play a provider that is down: every request gets HTTP 503.
        self.outage = False
        self.callback_delay_s = callback_delay_s
        self.callback_retry_base_s = callback_retry_base_s
        self.callback_retry_cap_s = callback_retry_cap_s
        self.callback_retry_window_s = callback_retry_window_s
        self.messages: list[SmsRecord] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = self._build_app()
        self.server = BackgroundServer(self.app, port=port, handle_signals=handle_signals)

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Tenderwire SMS gateway stub (Twilio-style)")

        @app.post("/2010-04-01/Accounts/{account}/Messages.json", status_code=201)
        async def create_message(
            account: str,
            to: Annotated[str, Form(alias="To")],
            from_: Annotated[str, Form(alias="From")],
            body: Annotated[str, Form(alias="Body")],
            status_callback: Annotated[str | None, Form(alias="StatusCallback")] = None,
            authorization: Annotated[str, Header()] = "",
        ) -> dict[str, Any]:
            auth_token = _basic_auth_token(authorization)
            if auth_token is None:
                raise HTTPException(
                    401, "authenticate with your account SID and auth token (HTTP Basic)"
                )
            if self.outage:
                raise HTTPException(503, "provider unavailable (outage switched on)")
            if to.endswith("9999"):
                raise HTTPException(500, "provider failure (asked for by the number)")
            record = SmsRecord(
                sid="SM" + secrets.token_hex(16),
                account=account,
                to=to,
                from_=from_,
                body=body,
                status_callback=status_callback,
                created_at=datetime.now(UTC).isoformat(),
                auth_token=auth_token,
                statuses=["queued"],
            )
            self.messages.append(record)
            if status_callback:
                task = asyncio.create_task(self._report(record))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return {
                "sid": record.sid,
                "status": "queued",
                "to": to,
                "from": from_,
                "body": body,
                "num_segments": "1",
            }

        @app.put("/api/inbound-webhook", status_code=204)
        async def set_inbound_webhook(webhook: InboundWebhook) -> Response:
            self.inbound_url = webhook.url
            self.inbound_auth_token = webhook.auth_token
            return Response(status_code=204)

        @app.post("/api/inbound")
        async def inbound(text: InboundText) -> dict[str, Any]:
            if not self.inbound_url or not self.inbound_auth_token:
                raise HTTPException(
                    409, "no inbound webhook: PUT /api/inbound-webhook {url, auth_token} first"
                )
            try:
                record = await self.receive(text.from_, text.body, to=text.to)
            except WebhookUnreachableError as exc:
                raise HTTPException(502, f"inbound webhook unreachable: {exc}") from exc
            return {"status": record.webhook_status, "replies": record.replies}

        @app.get("/api/messages")
        async def list_messages() -> list[dict[str, Any]]:
            # The auth token stays in the stub, as a real provider never shows it back.
            return [
                {k: v for k, v in asdict(m).items() if k != "auth_token"} for m in self.messages
            ]

        return app

    async def receive(self, from_: str, body: str, *, to: str | None = None) -> InboundRecord:
        """A text from `from_` reaches the provider: post it to the inbound webhook, signed,
        and send back what the TwiML answer says. WebhookUnreachableError if it cannot be
        reached."""
        assert self.inbound_url is not None
        assert self.inbound_auth_token is not None
        record = InboundRecord(
            sid="SM" + secrets.token_hex(16),
            from_=from_,
            to=to or self._our_number_for(from_),
            body=body,
            created_at=datetime.now(UTC).isoformat(),
        )
        self.inbound.append(record)
        form = {
            "MessageSid": record.sid,
            "SmsSid": record.sid,
            "AccountSid": "AC0000000000stub",
            "From": record.from_,
            "To": record.to,
            "Body": record.body,
            "NumSegments": "1",
            "NumMedia": "0",
        }
        headers = {
            "X-Twilio-Signature": provider_signature(
                self.inbound_auth_token, self.inbound_url, form
            )
        }
        async with httpx.AsyncClient(timeout=15.0, transport=self._inbound_transport) as client:
            try:
                response = await client.post(self.inbound_url, data=form, headers=headers)
            # InvalidURL is not an HTTPError: a webhook URL set to nonsense is unreachable too.
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise WebhookUnreachableError(type(exc).__name__) from exc
        record.webhook_status = response.status_code
        if response.status_code < 300:
            record.replies = twiml_messages(response.content)
        for reply in record.replies:
            self.messages.append(
                SmsRecord(
                    sid="SM" + secrets.token_hex(16),
                    account="AC0000000000stub",
                    to=record.from_,
                    from_=record.to,
                    body=reply,
                    status_callback=None,
                    created_at=datetime.now(UTC).isoformat(),
                    auth_token="",
                    statuses=["sent", "delivered"],
                    in_reply_to=record.sid,
                )
            )
        return record

    def _our_number_for(self, phone: str) -> str:
        """The sender of the newest message to `phone`: the number a reply goes to."""
        sent = [m for m in self.messages if m.to == phone and m.in_reply_to is None]
        return sent[-1].from_ if sent else "TENDERS"

    async def _report(self, record: SmsRecord) -> None:
        final = "undelivered" if record.to.endswith("0000") else "delivered"
        async with httpx.AsyncClient(timeout=5.0) as client:
            for status in ("sent", final):
                await asyncio.sleep(self.callback_delay_s)
                record.statuses.append(status)
                if not await self._call_back(client, record, status):
                    record.statuses.append(f"callback-failed:{status}")

    async def _call_back(self, client: httpx.AsyncClient, record: SmsRecord, status: str) -> bool:
        """Post one status until the receiver takes it; False once it is refused or too late."""
        form = {"MessageSid": record.sid, "MessageStatus": status, "To": record.to}
        url = str(record.status_callback)
        headers = {"X-Twilio-Signature": provider_signature(record.auth_token, url, form)}
        give_up_at = time.monotonic() + self.callback_retry_window_s
        backoff = self.callback_retry_base_s
        while True:
            retry_after: float | None = None
            try:
                response = await client.post(url, data=form, headers=headers)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                record.callback_replies.append(f"{status}:{type(exc).__name__}")
                return False
            except httpx.HTTPError as exc:
                record.callback_replies.append(f"{status}:{type(exc).__name__}")
            else:
                record.callback_replies.append(f"{status}:{response.status_code}")
                if response.status_code < 400:
                    return True
                if response.status_code != 429 and response.status_code < 500:
                    return False
                retry_after = _retry_after_s(response.headers.get("Retry-After"))
            wait = min(self.callback_retry_cap_s, backoff if retry_after is None else retry_after)
            if time.monotonic() + wait > give_up_at:
                return False
            await asyncio.sleep(wait)
            backoff = min(self.callback_retry_cap_s, backoff * 2)

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        for task in list(self._tasks):
            task.cancel()


def provider_signature(auth_token: str, url: str, form: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio's "Webhooks security" page defines it."""
    signed = url + "".join(name + form[name] for name in sorted(form))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def twiml_messages(document: bytes) -> list[str]:
    """The text of each `<Message>` of a TwiML answer (its `<Body>`, or its own text); none for
    an empty answer or one that is not TwiML."""
    if not document.strip():
        return []
    try:
        root = ET.fromstring(document)  # noqa: S314 - the stub's own webhook, a local service
    except ET.ParseError:
        return []
    if root.tag != "Response":
        return []
    texts = []
    for message in root.iter("Message"):
        body = message.find("Body")
        texts.append((body.text if body is not None else message.text) or "")
    return texts


def _basic_auth_token(authorization: str) -> str | None:
    """The password of an HTTP Basic Authorization header: the account's auth token."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, token = decoded.partition(":")
    return token if colon and token else None


def _retry_after_s(header: str | None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date."""
    if not header:
        return None
    if header.strip().isdigit():
        return float(header)
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def serve(port: int) -> None:
    gateway = SmsGateway(port=port, handle_signals=True)
    await gateway.start()
    await gateway.server.wait_closed()
