"""E-mail as the bytes an SMTP relay takes: rendered once per content, completed per recipient.

Everything that reads the same for every recipient of the same words (subject, the text and
HTML with the greeting's name left open, the MIME scaffolding) is prepared once per
`Job.content_key`. Each message then only fills in To, Date, Message-ID, the unsubscribe link
and the recipient's name: a few byte joins instead of building and flattening an EmailMessage.

The bytes are 7-bit clean (quoted-printable wherever a part is not plain short-lined ASCII),
so a relay takes them as they are, with or without 8BITMIME.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from markupsafe import escape

from tenderwire_notify.channels import Job
from tenderwire_notify.rendering import RenderedEmail, render, render_digest
from tenderwire_notify.settings import NotifySettings
from tenderwire_notify.unsubscribe import Subscription, link_for

# Private-use characters: no template, tender or escaping ever produces them, and markupsafe
# leaves them alone, so the HTML keeps the exact spot where the escaped name goes.
SUPPLIER_PLACEHOLDER = "\ue000tenderwire-supplier\ue001"

CRLF = b"\r\n"
MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF
_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_UNFOLDED_WHITESPACE = re.compile(r"[\r\n]+")


def _crlf(data: bytes) -> bytes:
    if b"\r" not in data and b"\n" not in data:
        return data
    return _LINE_ENDINGS.sub(CRLF, data)


def _fits_seven_bit(body: bytes) -> bool:
    # RFC 2045 2.7: ASCII, no NUL, CR and LF only as CRLF (already normalised), short lines.
    return body.isascii() and b"\0" not in body and max(map(len, body.split(CRLF))) <= MAX_LINE


def _transfer_encoded(body: bytes) -> tuple[bytes, bytes]:
    if _fits_seven_bit(body):
        return b"7bit", body
    # binascii's encoder is C: keeps CRLF, soft-breaks at 76, escapes NUL, '=' and 8-bit bytes.
    return b"quoted-printable", binascii.b2a_qp(body, istext=True)


def _header_line(name: str, value: str) -> bytes:
    """A header the stdlib folds and RFC 2047-encodes; used once per content, not per message."""
    header = SMTP_POLICY.header_factory(name, _UNFOLDED_WHITESPACE.sub(" ", value))
    folded: str = header.fold(policy=SMTP_POLICY)
    return folded.encode("ascii")


@dataclass(frozen=True)
class _OpenBody:
    """A part's text, UTF-8 with CRLF line ends, split where the supplier's name goes."""

    pieces: tuple[bytes, ...]
    content_type: bytes

    @classmethod
    def of(cls, rendered: str, subtype: str) -> _OpenBody:
        pieces = [_crlf(p.encode()) for p in rendered.split(SUPPLIER_PLACEHOLDER)]
        if not pieces[-1].endswith(CRLF):
            pieces[-1] += CRLF
        return cls(tuple(pieces), f'Content-Type: text/{subtype}; charset="utf-8"'.encode())

    def filled(self, name: bytes) -> bytes:
        return name.join(self.pieces)


@dataclass(frozen=True)
class PreparedContent:
    """What every recipient of the same words shares; see `EmailComposer.message`."""

    subject: str
    subject_line: bytes | None
    """The folded Subject header, unless the subject itself names the supplier."""
    text: _OpenBody
    html: _OpenBody

    @classmethod
    def from_rendered(cls, rendered: RenderedEmail) -> PreparedContent:
        """From an e-mail rendered with SUPPLIER_PLACEHOLDER as the supplier's name."""
        named = SUPPLIER_PLACEHOLDER in rendered.subject
        return cls(
            subject=rendered.subject,
            subject_line=None if named else _header_line("Subject", rendered.subject),
            text=_OpenBody.of(rendered.text, "plain"),
            html=_OpenBody.of(rendered.html, "html"),
        )


def render_content(job: Job) -> PreparedContent:
    """The alert or digest of a job, rendered with the supplier's name left open."""
    if job.match is not None:
        rendered = render(
            job.match,
            language=job.language,
            timezone_name=job.timezone,
            supplier=SUPPLIER_PLACEHOLDER,
        )
    elif job.digest is not None:
        rendered = render_digest(
            job.digest.entries,
            language=job.language,
            timezone_name=job.timezone,
            day=job.digest.day,
            supplier=SUPPLIER_PLACEHOLDER,
        )
    else:
        raise ValueError(f"job {job.id} carries neither a match nor a digest")
    return PreparedContent.from_rendered(rendered)


@dataclass(frozen=True)
class ComposedEmail:
    message_id: str
    data: bytes


def _boundary_free(boundary: bytes, *bodies: bytes) -> bool:
    delimiter = b"--" + boundary
    return not any(delimiter in body for body in bodies)


def _checked_header_value(field: str, value: str) -> bytes:
    # A line break or control character here would let data write its own headers.
    if not value or not value.isprintable() or len(value) > MAX_LINE - 40:
        raise ValueError(f"{field} is not a usable header value: {value!r:.80}")
    return value.encode()


class EmailComposer:
    """Turns jobs into finished messages, keeping the most recently used contents rendered."""

    def __init__(self, settings: NotifySettings, *, cache_size: int = 4096) -> None:
        self._settings = settings
        self._cache_size = cache_size
        self._contents: OrderedDict[str, PreparedContent] = OrderedDict()
        self._from_line = _header_line("From", settings.mail_from)
        self._message_id_domain = settings.message_id_domain

    def content(self, job: Job) -> PreparedContent:
        prepared = self._contents.get(job.content_key)
        if prepared is not None:
            self._contents.move_to_end(job.content_key)
            return prepared
        prepared = render_content(job)
        self._contents[job.content_key] = prepared
        if len(self._contents) > self._cache_size:
            self._contents.popitem(last=False)
        return prepared

    def compose(self, job: Job, *, now: datetime) -> ComposedEmail:
        """The job's message. Raises ValueError for an address or name no message can carry."""
        message_id = f"<{job.id}@{self._message_id_domain}>"
        link = link_for(
            self._settings,
            Subscription(supplier_id=job.supplier_id, channel="email", address=job.address),
        )
        data = self.message(
            self.content(job),
            to=job.address,
            message_id=message_id,
            date=now,
            unsubscribe_link=link,
            supplier=job.recipient_name,
        )
        return ComposedEmail(message_id=message_id, data=data)

    def message(
        self,
        content: PreparedContent,
        *,
        to: str,
        message_id: str,
        date: datetime,
        unsubscribe_link: str,
        supplier: str,
    ) -> bytes:
        """A complete multipart/alternative message, CRLF line ends, ready for SMTP DATA."""
        if content.subject_line is not None:
            subject_line = content.subject_line
        else:
            named = content.subject.replace(SUPPLIER_PLACEHOLDER, supplier)
            subject_line = _header_line("Subject", named)
        text_cte, text = _transfer_encoded(content.text.filled(_crlf(supplier.encode())))
        html_name = _crlf(str(escape(supplier)).encode())
        html_cte, html = _transfer_encoded(content.html.filled(html_name))
        boundary = b"=_tw_" + secrets.token_hex(12).encode()
        # A quoted-printable body cannot hold "=_"; a 7bit one could, by a hostile name.
        while not _boundary_free(boundary, text, html):
            boundary = b"=_tw_" + secrets.token_hex(12).encode()
        delimiter = b"--" + boundary
        return b"".join(
            (
                self._from_line,
                b"To: ", _checked_header_value("To", to), CRLF,
                subject_line,
                b"Date: ", format_datetime(date.astimezone(UTC)).encode(), CRLF,
                b"Message-ID: ", _checked_header_value("Message-ID", message_id), CRLF,
                # RFC 8058 one-click: unfolded, as clients match the <URL> literally.
                b"List-Unsubscribe: <", _checked_header_value("Link", unsubscribe_link), b">",
                CRLF,
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", CRLF,
                b"MIME-Version: 1.0", CRLF,
                b'Content-Type: multipart/alternative; boundary="', boundary, b'"', CRLF,
                CRLF,
                delimiter, CRLF,
                content.text.content_type, CRLF,
                b"Content-Transfer-Encoding: ", text_cte, CRLF,
                CRLF,
                # The CRLF before a delimiter belongs to it (RFC 2046 5.1.1): without a second
                # one the part would lose its last line end.
                text, CRLF,
                delimiter, CRLF,
                content.html.content_type, CRLF,
                b"Content-Transfer-Encoding: ", html_cte, CRLF,
                CRLF,
                html, CRLF,
                delimiter, b"--", CRLF,
            )
        )  # fmt: skip
