"""A real SMTP server that keeps every message it accepts and shows them over HTTP.

Addresses can ask for failures, so tests exercise the sender's error paths over real SMTP:
a recipient whose local part starts with `tempfail-once` gets 451 the first time and is
accepted after, one starting with `tempfail` always gets 451, one starting with `bounce` 550.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import json
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from tenderwire_shared.envelope import new_event_id
from tenderwire_stack.http_server import BackgroundServer


@dataclass
class CaughtMessage:
    id: str
    received_at: str
    mail_from: str
    recipients: list[str]
    subject: str
    message_id: str
    headers: dict[str, str]
    text: str
    html: str
    size: int = field(default=0)


class MailStore:
    """Messages in arrival order; appended to a JSON-lines file when given one."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._messages: list[CaughtMessage] = []
        if path is not None and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._messages.append(CaughtMessage(**json.loads(line)))

    def add(self, message: CaughtMessage) -> None:
        with self._lock:
            self._messages.append(message)
            if self._path is not None:
                with self._path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(message)) + "\n")

    def all(self) -> list[CaughtMessage]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            if self._path is not None:
                self._path.write_text("")


def parse(raw: bytes, mail_from: str, recipients: list[str]) -> CaughtMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    return CaughtMessage(
        id=new_event_id(),
        received_at=datetime.now(UTC).isoformat(),
        mail_from=mail_from,
        recipients=recipients,
        # Python's parser keeps the space of a header folded right after its colon
        # ("Subject:\r\n [New tender]..."); unfolded per RFC 5322 it is not part of the value.
        subject=str(parsed.get("Subject", "")).strip(),
        message_id=str(parsed.get("Message-ID", "")).strip(),
        headers={k: str(v).strip() for k, v in parsed.items()},
        text=text_part.get_content() if isinstance(text_part, EmailMessage) else "",
        html=html_part.get_content() if isinstance(html_part, EmailMessage) else "",
        size=len(raw),
    )


class CatchingHandler:
    def __init__(self, store: MailStore) -> None:
        self.store = store
        self._failed_once: set[str] = set()

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        local = address.split("@", 1)[0].lower()
        if local.startswith("tempfail-once") and address.lower() not in self._failed_once:
            self._failed_once.add(address.lower())
            return "451 4.3.0 Mailbox busy, try again (asked for by the address)"
        if local.startswith("tempfail") and not local.startswith("tempfail-once"):
            return "451 4.3.0 Mailbox temporarily unavailable (asked for by the address)"
        if local.startswith("bounce"):
            return "550 5.1.1 No such mailbox (asked for by the address)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        self.store.add(parse(raw, str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def http_app(store: MailStore) -> FastAPI:
    app = FastAPI(title="Tenderwire mail catcher")

    @app.get("/api/messages")
    async def list_messages(to: str | None = None) -> list[dict[str, Any]]:
        return [
            asdict(m)
            for m in store.all()
            if to is None or any(to.lower() == r.lower() for r in m.recipients)
        ]

    @app.get("/api/messages/{message_id}")
    async def get_message(message_id: str) -> dict[str, Any]:
        for m in store.all():
            if m.id == message_id:
                return asdict(m)
        raise HTTPException(404, f"no message {message_id!r}")

    @app.delete("/api/messages", status_code=204)
    async def clear() -> None:
        store.clear()

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        rows = "".join(
            f"<tr><td>{html.escape(m.received_at[:19])}</td>"
            f"<td>{html.escape(', '.join(m.recipients))}</td>"
            f"<td><a href='/messages/{m.id}'>{html.escape(m.subject)}</a></td></tr>"
            for m in reversed(store.all())
        )
        return (
            "<!doctype html><meta charset=utf-8><title>Caught mail</title>"
            "<body style='font-family:sans-serif'><h1>Caught mail</h1>"
            "<p><a href='/api/messages'>JSON</a></p>"
            "<table cellpadding=4><tr><th>Received (UTC)</th><th>To</th><th>Subject</th></tr>"
            f"{rows}</table>"
        )

    @app.get("/messages/{message_id}", response_class=HTMLResponse)
    async def show(message_id: str) -> str:
        m = await get_message(message_id)
        headers = "".join(
            f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in m["headers"].items()
        )
        # The HTML part is shown sandboxed: caught mail is untrusted content.
        return (
            "<!doctype html><meta charset=utf-8><body style='font-family:sans-serif'>"
            f"<p><a href='/'>All mail</a></p><table>{headers}</table>"
            f"<h2>Text</h2><pre>{html.escape(m['text'])}</pre><h2>HTML</h2>"
            f'<iframe sandbox srcdoc="{html.escape(m["html"])}" width=100% height=600></iframe>'
        )

    return app


class MailCatcher:
    """SMTP and HTTP on one asyncio loop; usable in-process (tests) or as its own process."""

    def __init__(
        self,
        *,
        smtp_port: int,
        http_port: int,
        store: MailStore | None = None,
        handle_signals: bool = False,
    ) -> None:
        self.smtp_port = smtp_port
        self.http_port = http_port
        self.store = store or MailStore()
        self._smtp_server: asyncio.Server | None = None
        self.sessions = 0  # SMTP connections accepted, so tests can see connection reuse
        self._http = BackgroundServer(
            http_app(self.store), port=http_port, handle_signals=handle_signals
        )

    async def start(self) -> None:
        handler = CatchingHandler(self.store)
        loop = asyncio.get_running_loop()

        def session() -> SMTP:
            self.sessions += 1
            return SMTP(handler, hostname="mailcatcher.localhost")

        self._smtp_server = await loop.create_server(session, "127.0.0.1", self.smtp_port)
        await self._http.start()

    async def wait_http_closed(self) -> None:
        await self._http.wait_closed()

    async def stop(self) -> None:
        if self._smtp_server is not None:
            self._smtp_server.close()
            await self._smtp_server.wait_closed()
        await self._http.stop()


async def serve(smtp_port: int, http_port: int, store_path: Path) -> None:
    catcher = MailCatcher(
        smtp_port=smtp_port, http_port=http_port, store=MailStore(store_path), handle_signals=True
    )
    await catcher.start()
    try:
        # uvicorn turns SIGTERM into a graceful HTTP shutdown; SMTP follows it.
        await catcher.wait_http_closed()
    finally:
        await catcher.stop()
