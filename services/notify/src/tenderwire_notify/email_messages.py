"""E-mail as the bytes an SMTP relay takes: rendered once per content, completed per recipient.

Everything that reads the same for every recipient of the same words (subject, the text and
HTML with the greeting's name and the footer's unsubscribe link left open, the MIME
scaffolding) is prepared once per `Job.content_key`. Each message then only fills in To,
Date, Message-ID, the List-Unsubscribe header, the recipient's name and its unsubscribe link:
a few byte joins instead of building and flattening an EmailMessage.

The bytes are 7-bit clean (quoted-printable wherever a part is not plain short-lined ASCII),
so a relay takes them as they are, with or without 8BITMIME; only a non-ASCII address puts
UTF-8 in the To header, and the Mailer then asks for SMTPUTF8.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from markupsafe import escape

from tenderwire_notify.channels import Job
from tenderwire_notify.rendering import (
    RenderedEmail,
    render,
    render_account_email,
    render_digest,
)
from tenderwire_notify.schemas import Subscriber, link_for
from tenderwire_notify.settings import NotifySettings

# Private-use characters: no template, tender or escaping ever produces them, and markupsafe
# leaves them alone, so the HTML keeps the exact spot where the escaped name goes.
SUPPLIER_PLACEHOLDER = "\ue000tenderwire-supplier\ue001"
UNSUBSCRIBE_PLACEHOLDER = "\ue000tenderwire-unsubscribe\ue001"
_OPEN_SPOTS = re.compile(f"({SUPPLIER_PLACEHOLDER}|{UNSUBSCRIBE_PLACEHOLDER})")

CRLF = b"\r\n"
MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF
_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_UNFOLDED_WHITESPACE = re.compile(r"[\r\n]+")
_QP_LINE = 76
_SOFT_BREAK = b"=" + CRLF


def _line(*parts: bytes) -> bytes:
    """One header or boundary line: its parts, then CRLF."""
    return b"".join(parts) + CRLF


def _crlf(data: bytes) -> bytes:
    if b"\r" not in data and b"\n" not in data:
        return data
    return _LINE_ENDINGS.sub(CRLF, data)


def _fits_seven_bit(body: bytes) -> bool:
    # RFC 2045 2.7: ASCII, no NUL, CR and LF only as CRLF (already normalised), short lines.
    return body.isascii() and b"\0" not in body and max(map(len, body.split(CRLF))) <= MAX_LINE


def _quoted(data: bytes) -> bytes:
    """Quoted-printable (binascii's C encoder: soft breaks at 76, NUL, '=' and 8-bit escaped)."""
    encoded = binascii.b2a_qp(data, istext=True)
    # It breaks lines with whatever the data's first line end is, and LF when there is none.
    return encoded if CRLF in data else encoded.replace(b"\n", CRLF)


def _continued(encoded: bytes) -> bytes:
    """Quoted-printable that the next chunk continues on the same decoded line: it ends with a
    soft line break, and no encoded line grows past 76 (RFC 2045 6.7) for it."""
    line_start = encoded.rfind(CRLF) + 2 if CRLF in encoded else 0
    head, last = encoded[:line_start], encoded[line_start:]
    pieces = []
    while len(last) > _QP_LINE - 1:
        cut = _QP_LINE - 1
        while b"=" in last[cut - 2 : cut]:  # never inside an =XX escape
            cut -= 1
        pieces.append(last[:cut] + _SOFT_BREAK)
        last = last[cut:]
    return head + b"".join(pieces) + last + _SOFT_BREAK


def _header_line(name: str, value: str) -> bytes:
    """A header the stdlib folds and RFC 2047-encodes; used once per content, not per message."""
    header = SMTP_POLICY.header_factory(name, _UNFOLDED_WHITESPACE.sub(" ", value))
    folded: str = header.fold(policy=SMTP_POLICY)
    return folded.encode("ascii")


@dataclass(frozen=True)
class _OpenBody:
    """A part's text, UTF-8 with CRLF line ends, split where the supplier's name and its
    unsubscribe link go, and already quoted-printable per piece, so a message encodes only
    those two."""

    content_type: bytes
    pieces: tuple[bytes, ...]
    quoted_pieces: tuple[bytes, ...]
    spots: tuple[str, ...]
    """Which placeholder each gap between two pieces held."""
    seven_bit: bool

    @classmethod
    def of(cls, rendered: str, subtype: str) -> _OpenBody:
        parts = _OPEN_SPOTS.split(rendered)
        pieces = [_crlf(p.encode()) for p in parts[0::2]]
        if not pieces[-1].endswith(CRLF):
            pieces[-1] += CRLF
        quoted = [_continued(_quoted(p)) for p in pieces[:-1]] + [_quoted(pieces[-1])]
        return cls(
            content_type=f'Content-Type: text/{subtype}; charset="utf-8"'.encode(),
            pieces=tuple(pieces),
            quoted_pieces=tuple(quoted),
            spots=tuple(parts[1::2]),
            seven_bit=all(_fits_seven_bit(p) for p in pieces),
        )

    def encoded(self, values: dict[str, bytes]) -> tuple[bytes, bytes]:
        """(Content-Transfer-Encoding, body) with each placeholder's value (UTF-8, CRLF) in
        its spots."""
        if not self.spots:
            if self.seven_bit:
                return b"7bit", self.pieces[0]
            return b"quoted-printable", self.quoted_pieces[0]
        if self.seven_bit and all(values[spot].isascii() for spot in self.spots):
            body = _joined(self.pieces, [values[spot] for spot in self.spots])
            if _fits_seven_bit(body):
                return b"7bit", body
        quoted = {spot: _continued(_quoted(value)) for spot, value in values.items()}
        return b"quoted-printable", _joined(self.quoted_pieces, [quoted[s] for s in self.spots])


def _joined(pieces: tuple[bytes, ...], fillings: list[bytes]) -> bytes:
    out = [pieces[0]]
    for filling, piece in zip(fillings, pieces[1:], strict=True):
        out += (filling, piece)
    return b"".join(out)


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
    """The alert or digest of a job, rendered with the supplier's name and its unsubscribe
    link left open."""
    if job.match is not None:
        rendered = render(
            job.match,
            language=job.language,
            timezone_name=job.timezone,
            supplier=SUPPLIER_PLACEHOLDER,
            unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER,
        )
    elif job.digest is not None:
        rendered = render_digest(
            job.digest.entries,
            language=job.language,
            timezone_name=job.timezone,
            day=job.digest.day,
            supplier=SUPPLIER_PLACEHOLDER,
            unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER,
        )
    else:
        raise ValueError(f"job {job.id} carries neither a match nor a digest")
    return PreparedContent.from_rendered(rendered)


def _address_tag(address: str) -> str:
    """A short, stable part of the Message-ID that tells one contact's copy from another's."""
    return hashlib.blake2b(address.lower().encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class ComposedEmail:
    message_id: str
    data: bytes


def _boundary_free(boundary: bytes, *bodies: bytes) -> bool:
    delimiter = b"--" + boundary
    return not any(delimiter in body for body in bodies)


def _verbatim_header(name: bytes, value: str, *, brackets: bool = False) -> bytes:
    """A header whose value goes out as it is, unfolded, after checking that it can."""
    # A line break or control character here would let the data write its own headers.
    if not value or not value.isprintable():
        raise ValueError(f"{name.decode()} is not a usable header value: {value!r:.80}")
    encoded = b"<" + value.encode() + b">" if brackets else value.encode()
    line = name + b": " + encoded
    if len(line) > MAX_LINE:
        raise ValueError(f"{name.decode()} is longer than a header line may be: {value!r:.80}")
    return line + CRLF


class EmailComposer:
    """Turns jobs into finished messages, keeping the most recently used contents rendered."""

    def __init__(self, settings: NotifySettings, *, cache_size: int = 4096) -> None:
        self._settings = settings
        self._cache_size = cache_size
        self._contents: OrderedDict[str, PreparedContent] = OrderedDict()
        self._from_line = _header_line("From", settings.mail_from)
        self._message_id_domain = settings.message_id_domain
        self.message_id_domain = settings.message_id_domain
        self._date_second = -1
        self._date_value = b""

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

    def compose(self, job: Job, *, now: datetime, to: str | None = None) -> ComposedEmail:
        """The job's message to its address, or to `to`, another of the supplier's addresses
        (which gets its own Message-ID and unsubscribe link). Raises ValueError for an address
        or name no message can carry."""
        if job.account is not None:
            return self.compose_account(job, now=now)
        address = to or job.address
        message_id = (
            f"<{job.id}@{self._message_id_domain}>"
            if to is None
            else f"<{job.id}.{_address_tag(address)}@{self._message_id_domain}>"
        )
        link = link_for(
            self._settings,
            Subscriber(
                supplier_id=job.supplier_id,
                channel="email",
                address=address,
                language=job.language,
            ),
        )
        data = self.message(
            self.content(job),
            to=address,
            message_id=message_id,
            date=now,
            unsubscribe_link=link,
            supplier=job.recipient_name,
        )
        return ComposedEmail(message_id=message_id, data=data)

    def compose_account(self, job: Job, *, now: datetime) -> ComposedEmail:
        """A verification or sign-in e-mail: rendered for this one message (it is the only
        one with its link), with no List-Unsubscribe (it is transactional: the supplier asked
        for it)."""
        assert job.account is not None
        message_id = f"<{job.id}@{self._message_id_domain}>"
        content = PreparedContent.from_rendered(render_account_email(job.account))
        data = self.message(
            content,
            to=job.address,
            message_id=message_id,
            date=now,
            unsubscribe_link=None,
            supplier=job.recipient_name,
        )
        return ComposedEmail(message_id=message_id, data=data)

    def _date_header(self, date: datetime) -> bytes:
        # Formatting costs as much as the rest of the headers; a burst shares its second.
        second = int(date.timestamp())
        if second != self._date_second:
            self._date_value = format_datetime(datetime.fromtimestamp(second, UTC)).encode()
            self._date_second = second
        return self._date_value

    def message(
        self,
        content: PreparedContent,
        *,
        to: str,
        message_id: str,
        date: datetime,
        unsubscribe_link: str | None,
        supplier: str,
    ) -> bytes:
        """A complete multipart/alternative message, CRLF line ends, ready for SMTP DATA."""
        if content.subject_line is not None:
            subject_line = content.subject_line
        else:
            named = content.subject.replace(SUPPLIER_PLACEHOLDER, supplier)
            subject_line = _header_line("Subject", named)
        link = (unsubscribe_link or "").encode()
        text_cte, text = content.text.encoded(
            {SUPPLIER_PLACEHOLDER: _crlf(supplier.encode()), UNSUBSCRIBE_PLACEHOLDER: link}
        )
        html_cte, html = content.html.encoded(
            {
                SUPPLIER_PLACEHOLDER: _crlf(str(escape(supplier)).encode()),
                UNSUBSCRIBE_PLACEHOLDER: str(escape(unsubscribe_link or "")).encode(),
            }
        )
        unsubscribe_headers = (
            # RFC 8058 one-click: unfolded, as clients match the <URL> literally.
            _verbatim_header(b"List-Unsubscribe", unsubscribe_link, brackets=True)
            + _line(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click")
            if unsubscribe_link is not None
            else b""
        )
        boundary = b"=_tw_" + secrets.token_hex(12).encode()
        # A quoted-printable body cannot hold "=_"; a 7bit one could, by a hostile name.
        while not _boundary_free(boundary, text, html):
            boundary = b"=_tw_" + secrets.token_hex(12).encode()
        delimiter = b"--" + boundary
        return b"".join(
            (
                self._from_line,
                _verbatim_header(b"To", to),
                subject_line,
                _line(b"Date: ", self._date_header(date)),
                _verbatim_header(b"Message-ID", message_id),
                unsubscribe_headers,
                _line(b"MIME-Version: 1.0"),
                _line(b'Content-Type: multipart/alternative; boundary="', boundary, b'"'),
                CRLF,
                _line(delimiter),
                _line(content.text.content_type),
                _line(b"Content-Transfer-Encoding: ", text_cte),
                CRLF,
                # The CRLF before a delimiter belongs to it (RFC 2046 5.1.1): without a second
                # one the part would lose its last line end. The bodies are not copied again.
                text,
                CRLF,
                _line(delimiter),
                _line(content.html.content_type),
                _line(b"Content-Transfer-Encoding: ", html_cte),
                CRLF,
                html,
                CRLF,
                _line(delimiter, b"--"),
            )
        )
