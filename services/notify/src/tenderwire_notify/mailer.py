"""E-mail over SMTP: prepared bytes over a few reused connections, with every failure sorted
into the recipient's ("try again" or "never again") or the relay's (the circuit breaker's)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from email.utils import parseaddr

import aiosmtplib
import structlog

from tenderwire_notify.channels import (
    Job,
    PermanentSendError,
    RelayUnavailableError,
    Sent,
    TransientSendError,
)
from tenderwire_notify.domain import (
    BreakerState,
    ChannelName,
    CircuitBreaker,
    SmtpVerdict,
    smtp_verdict,
)
from tenderwire_notify.email_messages import EmailComposer
from tenderwire_notify.settings import NotifySettings, SmtpSecurity
from tenderwire_shared.clock import Clock

log = structlog.get_logger()


def _failure(verdict: SmtpVerdict, reason: str) -> Exception:
    if verdict is SmtpVerdict.RELAY_DOWN:
        return RelayUnavailableError(reason)
    if verdict is SmtpVerdict.TRANSIENT:
        return TransientSendError(reason)
    return PermanentSendError(reason, hard_bounce=verdict is SmtpVerdict.HARD_BOUNCE)


class _StaleConnectionError(Exception):
    """A pooled connection turned out to be dead before the relay said anything of the message."""


class Mailer:
    """SMTP with a small pool of open connections, reused from one message to the next.

    A connection that saw any error is closed, not reused. An idle connection the server has
    dropped in the meantime is replaced at once rather than failing the message.
    """

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        self._sender = parseaddr(settings.mail_from)[1]
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
        try:
            await client.connect()
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                await client.login(s.smtp_username, password)
        except aiosmtplib.SMTPResponseException as exc:
            client.close()
            # Refused at the greeting, EHLO or login: every message would be, so it is the
            # relay's failure (the breaker's), never one message's permanent one.
            raise RelayUnavailableError(f"SMTP {exc.code} {exc.message}") from exc
        except BaseException:
            client.close()
            raise
        return client

    async def send(self, *, to: str, data: bytes) -> None:
        """Send one prepared message (see email_messages) to one address.

        Raises PermanentSendError (hard_bounce when the relay refused the mailbox),
        TransientSendError (the mailbox may take it later) or RelayUnavailableError.
        """
        # A non-ASCII mailbox is only legal over SMTPUTF8 (RFC 6531).
        options = [] if to.isascii() else ["SMTPUTF8"]
        async with self._slots:
            try:
                await self._send_on_a_connection(to, data, options)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                # One recipient per message, so its refusal is the message's fate.
                refusal = exc.recipients[0]
                reason = f"SMTP {refusal.code} {refusal.message}"
                raise _failure(smtp_verdict(refusal.code, at_recipient=True), reason) from exc
            except aiosmtplib.SMTPHeloError as exc:
                raise RelayUnavailableError(f"SMTP {exc.code} {exc.message}") from exc
            except aiosmtplib.SMTPResponseException as exc:
                reason = f"SMTP {exc.code} {exc.message}"
                # A 4xx here refuses this one message for now: it waits its own backoff and
                # must not pause the whole channel.
                raise _failure(smtp_verdict(exc.code, at_recipient=False), reason) from exc
            except aiosmtplib.SMTPNotSupported as exc:
                # Only SMTPUTF8 is asked for; a relay without it never takes this address.
                raise PermanentSendError(str(exc)) from exc
            except ValueError as exc:
                # aiosmtplib refuses an address it cannot put on the wire, before any command.
                raise PermanentSendError(f"unusable address: {exc}") from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                raise RelayUnavailableError(repr(exc)) from exc

    async def _send_on_a_connection(self, to: str, data: bytes, options: list[str]) -> None:
        reused = self._idle.pop() if self._idle else None
        if reused is not None and reused.is_connected:
            try:
                await self._transact(reused, to, data, options)
            except _StaleConnectionError:
                pass  # the server dropped it while idle: try once on a new one
            else:
                self._idle.append(reused)
                return
        elif reused is not None:
            reused.close()
        client = await self._connect()
        try:
            await client.sendmail(self._sender, [to], data, mail_options=options)
        except BaseException:
            client.close()
            raise
        self._idle.append(client)

    async def _transact(
        self, client: aiosmtplib.SMTP, to: str, data: bytes, options: list[str]
    ) -> None:
        try:
            await client.sendmail(self._sender, [to], data, mail_options=options)
        except aiosmtplib.SMTPServerDisconnected as exc:
            client.close()
            raise _StaleConnectionError from exc
        except aiosmtplib.SMTPSenderRefused as exc:
            client.close()
            # An idle-timeout 421 is read as the answer to MAIL, the first command.
            if smtp_verdict(exc.code, at_recipient=False) is SmtpVerdict.RELAY_DOWN:
                raise _StaleConnectionError from exc
            raise
        except BaseException:
            client.close()
            raise

    async def close(self) -> None:
        while self._idle:
            client = self._idle.pop()
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await client.quit()


class EmailChannel:
    """The e-mail `Channel`: one relay, one circuit breaker, content rendered once per key."""

    name = ChannelName.EMAIL

    def __init__(
        self,
        settings: NotifySettings,
        mailer: Mailer,
        clock: Clock,
        *,
        composer: EmailComposer | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.lanes = settings.smtp_pool_size
        self._mailer = mailer
        self._clock = clock
        self._composer = composer or EmailComposer(settings)
        self.breaker = breaker or settings.breaker("smtp")

    def paused(self, now: datetime) -> bool:
        return self.breaker.is_open(now)

    async def send(self, job: Job) -> str | Sent:
        """Send the job's e-mail; returns its Message-ID (the same for every resend).

        An alert or digest for a supplier with other e-mail contacts (`job.also`) goes to its
        own address first, whose failure is the job's as for any alert; then to each other
        address, as a message of its own (its own To, Message-ID and unsubscribe link). One of
        those refusing for now fails the job for now with the addresses that took it, which
        the retry leaves out (`sent_copies`), so none gets it twice; one refusing for good is
        skipped (suppressed when it bounced) and the others still get it."""
        if not job.also and not job.own_address_sent:
            return await self._send_one(job, None)
        reference = f"<{job.id}@{self._composer.message_id_domain}>"
        copies: list[str] = []
        refused: list[str] = []
        if not job.own_address_sent:
            reference = await self._send_one(job, None)
            copies.append(job.address)
        for address in job.also:
            try:
                await self._send_one(job, address)
            except TransientSendError as exc:
                raise type(exc)(str(exc), accepted=tuple(copies)) from exc
            except PermanentSendError as exc:
                log.warning(
                    "notification_copy_refused",
                    notification_id=job.id,
                    error=str(exc),
                    suppressed=exc.hard_bounce,
                )
                if exc.hard_bounce:
                    refused.append(address)
                continue
            copies.append(address)
        return Sent(reference, tuple(copies), tuple(refused))

    async def _send_one(self, job: Job, to: str | None) -> str:
        now = self._clock.now()
        try:
            email = self._composer.compose(job, now=now, to=to)
        except ValueError as exc:
            raise PermanentSendError(f"cannot compose the e-mail: {exc}") from exc
        if not self.breaker.allows(now):
            raise RelayUnavailableError("the SMTP relay's circuit is open")
        try:
            await self._mailer.send(to=to or job.address, data=email.data)
        except RelayUnavailableError:
            self.breaker.failed(self._clock.now())
            raise
        except (TransientSendError, PermanentSendError):
            self.breaker.succeeded()  # the relay answered; only this mailbox has trouble
            raise
        except BaseException:
            # A probe whose outcome is unknown (cancelled, say) must not hold the half-open
            # circuit forever: count it as failed, so a later probe is let through.
            if self.breaker.state is BreakerState.HALF_OPEN:
                self.breaker.failed(self._clock.now())
            raise
        self.breaker.succeeded()
        return email.message_id
