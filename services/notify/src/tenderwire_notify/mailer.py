"""E-mail over SMTP, with errors sorted into "try again" and "never again"."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from tenderwire_notify.rendering import RenderedEmail
from tenderwire_notify.settings import NotifySettings, SmtpSecurity


class TransientSendError(Exception):
    """The server or network may accept the same message later (SMTP 4xx, timeouts)."""


class PermanentSendError(Exception):
    """The server refused the message for good (SMTP 5xx); retrying cannot help.

    `hard_bounce` means the mailbox itself was refused: the address should get no more mail.
    """

    def __init__(self, message: str, *, hard_bounce: bool = False) -> None:
        super().__init__(message)
        self.hard_bounce = hard_bounce


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
    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self._settings
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_security is SmtpSecurity.TLS,
                start_tls=s.smtp_security is SmtpSecurity.STARTTLS,
                timeout=s.smtp_timeout_s,
            )
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
            raise TransientSendError(f"SMTP {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientSendError(repr(exc)) from exc
