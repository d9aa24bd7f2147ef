"""E-mail over SMTP, with errors sorted into "try again" and "never again"."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from tenderwire_notify.channels import (
    Job,
    PermanentSendError,
    RelayUnavailableError,
    TransientSendError,
)
from tenderwire_notify.rendering import RenderedEmail, render, render_digest
from tenderwire_notify.settings import NotifySettings, SmtpSecurity
from tenderwire_notify.unsubscribe import Subscription, link_for
from tenderwire_shared.clock import Clock


def build_message(
    settings: NotifySettings,
    *,
    to: str,
    delivery_id: str,
    email: RenderedEmail,
    unsubscribe_link: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    # Derived from the ledger row, so a resend after a crash carries the same id and mail
    # clients can fold the copies together.
    message["Message-ID"] = f"<{delivery_id}@{settings.message_id_domain}>"
    # RFC 8058: mail clients show an unsubscribe button that POSTs to the link.
    message["List-Unsubscribe"] = f"<{unsubscribe_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


class Mailer:
    """SMTP with a small pool of open connections, reused from one message to the next.

    A connection that saw any error is closed, not reused. An idle connection the server has
    dropped in the meantime is replaced at once rather than failing the message.
    """

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(settings.smtp_pool_size)

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_security is SmtpSecurity.TLS,
            start_tls=s.smtp_security is SmtpSecurity.STARTTLS,
            timeout=s.smtp_timeout_s,
        )
        await client.connect()
        if s.smtp_username:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            await client.login(s.smtp_username, password)
        return client

    async def send(self, message: EmailMessage) -> None:
        async with self._slots:
            try:
                await self._send_on_a_connection(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                # One recipient per message, so its refusal is the message's fate.
                refusal = exc.recipients[0]
                reason = f"SMTP {refusal.code} {refusal.message}"
                if 500 <= refusal.code < 600:
                    raise PermanentSendError(reason, hard_bounce=True) from exc
                raise TransientSendError(reason) from exc
            except aiosmtplib.SMTPResponseException as exc:
                if 500 <= exc.code < 600:
                    raise PermanentSendError(f"SMTP {exc.code} {exc.message}") from exc
                raise RelayUnavailableError(f"SMTP {exc.code} {exc.message}") from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                raise RelayUnavailableError(repr(exc)) from exc

    async def _send_on_a_connection(self, message: EmailMessage) -> None:
        reused = self._idle.pop() if self._idle else None
        if reused is not None and reused.is_connected:
            try:
                await reused.send_message(message)
            except aiosmtplib.SMTPServerDisconnected:
                reused.close()  # the server dropped it while idle: try once on a new one
            except BaseException:
                reused.close()
                raise
            else:
                self._idle.append(reused)
                return
        client = await self._connect()
        try:
            await client.send_message(message)
        except BaseException:
            client.close()
            raise
        self._idle.append(client)

    async def close(self) -> None:
        while self._idle:
            client = self._idle.pop()
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await client.quit()


class EmailChannel:
    """Interim: the email-bytes branch replaces this with prepared bytes and a breaker."""

    name = "email"

    def __init__(self, settings: NotifySettings, mailer: Mailer, clock: Clock) -> None:
        self._settings = settings
        self._mailer = mailer
        self._clock = clock
        self._breaker = settings.breaker("smtp")
        self.lanes = settings.smtp_pool_size

    def paused(self, now: datetime) -> bool:
        return self._breaker.is_open(now)

    async def send(self, job: Job) -> str | None:
        if job.digest is not None:
            rendered = render_digest(
                list(job.digest.entries), language=job.language, timezone_name=job.timezone,
                day=job.digest.day,
            )  # fmt: skip
        else:
            assert job.match is not None
            rendered = render(job.match, language=job.language, timezone_name=job.timezone)
        link = link_for(
            self._settings,
            Subscription(supplier_id=job.supplier_id, channel=self.name, address=job.address),
        )
        message = build_message(
            self._settings, to=job.address, delivery_id=job.id, email=rendered,
            unsubscribe_link=link,
        )  # fmt: skip
        if not self._breaker.allows(self._clock.now()):
            raise RelayUnavailableError("SMTP relay circuit open")
        try:
            await self._mailer.send(message)
        except RelayUnavailableError:
            self._breaker.failed(self._clock.now())
            raise
        except (PermanentSendError, TransientSendError):
            self._breaker.succeeded()  # the relay answered; this one message was refused
            raise
        self._breaker.succeeded()
        return str(message["Message-ID"])
