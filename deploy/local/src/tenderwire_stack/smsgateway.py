"""An HTTP stub of a Twilio-style SMS Messages API that records messages and calls back.

POST /2010-04-01/Accounts/{account}/Messages.json takes the form fields To, From, Body and
StatusCallback, answers with a sid and status "queued", then reports "sent" and "delivered"
to the callback URL. A To number ending in 0000 is reported "undelivered" instead, and
numbers ending in 9999 are refused with HTTP 500, so tests can drive failover.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Form, HTTPException

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
    statuses: list[str] = field(default_factory=list)


class SmsGateway:
    def __init__(
        self, *, port: int, callback_delay_s: float = 0.2, handle_signals: bool = False
    ) -> None:
        self.port = port
        # Set by tests to play a provider that is down: every request gets HTTP 503.
        self.outage = False
        self.callback_delay_s = callback_delay_s
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
        ) -> dict[str, Any]:
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

        @app.get("/api/messages")
        async def list_messages() -> list[dict[str, Any]]:
            return [asdict(m) for m in self.messages]

        return app

    async def _report(self, record: SmsRecord) -> None:
        final = "undelivered" if record.to.endswith("0000") else "delivered"
        async with httpx.AsyncClient(timeout=5.0) as client:
            for status in ("sent", final):
                await asyncio.sleep(self.callback_delay_s)
                record.statuses.append(status)
                try:
                    await client.post(
                        str(record.status_callback),
                        data={"MessageSid": record.sid, "MessageStatus": status, "To": record.to},
                    )
                except httpx.HTTPError:
                    record.statuses.append(f"callback-failed:{status}")

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        for task in list(self._tasks):
            task.cancel()


async def serve(port: int) -> None:
    gateway = SmsGateway(port=port, handle_signals=True)
    await gateway.start()
    await gateway.server.wait_closed()
