"""The prepared-bytes e-mail reads back, through the stdlib parser, exactly as the message the
old EmailMessage path built: same headers, same text, same HTML, for every language, kind of
alert, digest and hostile name."""

from __future__ import annotations

import binascii
import email
import email.policy
import re
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from aiosmtplib.email import flatten_message
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import AnyHttpUrl

from tenderwire_notify.channels import DigestContent, Job
from tenderwire_notify.domain import content_key
from tenderwire_notify.email_messages import (
    SUPPLIER_PLACEHOLDER,
    UNSUBSCRIBE_PLACEHOLDER,
    EmailComposer,
    PreparedContent,
    _continued,
    _quoted,
)
from tenderwire_notify.rendering import RenderedEmail, render, render_digest
from tenderwire_notify.schemas import Subscriber, link_for
from tenderwire_notify.settings import NotifySettings
from tenderwire_shared.events.matches import MatchCreated, MatchKind, Recipient
from tenderwire_shared.events.tenders import FieldChange, NoticeType, TenderSnapshot
from tenderwire_shared.i18n import LANGUAGES
from tenderwire_shared.settings import Environment
from tests.support.examples import examples

SETTINGS = NotifySettings(environment=Environment.TEST)
SENT_AT = datetime(2026, 12, 1, 9, 30, 15, tzinfo=UTC)
LINK = "http://127.0.0.1:18003/v1/unsubscribe/.eJyrVkrOz0tLTS5RslIKzs8tSMzJzMsvdXAyNjA01zFRslIqzk3NUaoFAKhvCw8.sig"

HOSTILE_NAMES = [
    "Acme & Sons",
    "<script>alert(1)</script>",
    'O\'Brien "Quoted" & <Co>',
    "Société Générale Ñandú 北京建筑 Ωmega",
    "Name\r\nBcc: victim@example.org",
    "x" * 2000,
    "Très " * 300,
    "--=_tw_ not a boundary",
    SUPPLIER_PLACEHOLDER,
]


def old_build_message(
    *, to: str, delivery_id: str, rendered: RenderedEmail, unsubscribe_link: str
) -> EmailMessage:
    """notify's build_message before prepared bytes, kept as the oracle (Date made fixed)."""
    message = EmailMessage()
    message["From"] = SETTINGS.mail_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(SENT_AT)
    message["Message-ID"] = f"<{delivery_id}@{SETTINGS.message_id_domain}>"
    message["List-Unsubscribe"] = f"<{unsubscribe_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def a_match(
    kind: MatchKind = MatchKind.NEW, *, name: str = "Acme & Sons", title: str = "Isolation gowns"
) -> MatchCreated:
    match = MatchCreated(
        match_id="m1",
        kind=kind,
        recipient=Recipient(
            supplier_id="s1",
            legal_name=name,
            email="a@example.org",
            language="fr",
            timezone="Africa/Dakar",
        ),
        tender=TenderSnapshot(
            tender_id="t1",
            revision=2,
            agency="UNICEF",
            reference="RFQ-1",
            title=title,
            description="",
            language="en",
            notice_type=NoticeType.INVITATION_TO_BID,
            unspsc_codes=("42131606",),
            beneficiary_countries=("SEN", "MLI"),
            deadline=datetime(2027, 1, 15, 16, 0, tzinfo=UTC),
            deadline_utc_offset_minutes=60,
            published_at=datetime(2026, 11, 1, tzinfo=UTC),
            url=AnyHttpUrl("https://example.org/t1"),
        ),
        matched_codes=("42131600",),
    )
    if kind is MatchKind.NEW:
        return match
    return match.model_copy(
        update={
            "reason": "Deadline extended at bidders' request",
            "changes": (
                FieldChange(
                    field="deadline",
                    before="2027-01-15T16:00:00+00:00",
                    after="2027-01-22T16:00:00+00:00",
                ),
            ),
        }
    )


def open_content(match: MatchCreated, language: str, zone: str) -> PreparedContent:
    return PreparedContent.from_rendered(
        render(
            match,
            language=language,
            timezone_name=zone,
            supplier=SUPPLIER_PLACEHOLDER,
            unsubscribe_url=UNSUBSCRIBE_PLACEHOLDER,
        )
    )


def parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def old_bytes(rendered: RenderedEmail, *, to: str = "a@example.org", id_: str = "d1") -> bytes:
    message = old_build_message(to=to, delivery_id=id_, rendered=rendered, unsubscribe_link=LINK)
    # What aiosmtplib's send_message put on the wire for it (the relay has 8BITMIME).
    return flatten_message(message, cte_type="8bit")


def new_bytes(content: PreparedContent, *, name: str, to: str = "a@example.org") -> bytes:
    return EmailComposer(SETTINGS).message(
        content,
        to=to,
        message_id=f"<d1@{SETTINGS.message_id_domain}>",
        date=SENT_AT,
        unsubscribe_link=LINK,
        supplier=name,
    )


def assert_reads_as(new: bytes, old: bytes) -> None:
    ours, theirs = parsed(new), parsed(old)
    assert ours.defects == []
    assert all(part.defects == [] for part in ours.walk())
    assert ours.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in ours.iter_parts()] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in ours.iter_parts()] == ["utf-8", "utf-8"]
    for header in (
        "From",
        "To",
        "Subject",
        "Message-ID",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
    ):
        assert str(ours[header]).strip() == str(theirs[header]).strip(), header
    assert ours["Date"].datetime == theirs["Date"].datetime
    for kind in ("plain", "html"):
        our_part, their_part = ours.get_body((kind,)), theirs.get_body((kind,))
        assert isinstance(our_part, EmailMessage)
        assert isinstance(their_part, EmailMessage)
        assert lines(our_part) == lines(their_part), kind


def lines(part: EmailMessage) -> list[str]:
    # The stdlib hands quoted-printable text back with CRLF and 8bit text with LF; which
    # transfer encoding a part gets is not what these tests compare.
    content: str = part.get_content()
    return content.replace("\r\n", "\n").split("\n")


def assert_wire_safe(data: bytes) -> None:
    """7-bit, CRLF only, no line over 998 octets: what any relay takes without conversion."""
    assert data.isascii()
    assert b"\0" not in data
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", data) is None
    assert data.endswith(b"\r\n")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    for part in parsed(data).iter_parts():
        if part["Content-Transfer-Encoding"] == "quoted-printable":
            encoded = part.get_payload(decode=False)
            assert isinstance(encoded, str)
            assert max(len(line) for line in encoded.splitlines()) <= 76  # RFC 2045 6.7


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(MatchKind))
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_an_alert_reads_back_as_the_old_message_did(
    language: str, kind: MatchKind, name: str
) -> None:
    match = a_match(kind, name=name)
    content = open_content(match, language, "America/Lima")
    old = old_bytes(
        render(match, language=language, timezone_name="America/Lima", unsubscribe_url=LINK)
    )

    new = new_bytes(content, name=name)

    assert_reads_as(new, old)
    assert_wire_safe(new)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_the_name_is_escaped_in_html_and_verbatim_in_text(name: str) -> None:
    content = open_content(a_match(name=name), "en", "UTC")

    message = parsed(new_bytes(content, name=name))

    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert isinstance(html, EmailMessage)
    assert isinstance(text, EmailMessage)
    assert "<script>" not in html.get_content()
    assert f"Hello {name}," in "\r\n".join(lines(text))
    assert "Bcc" not in message  # a line break in the name stays in the body


@pytest.mark.parametrize(
    ("to", "link", "refused"),
    [
        ("a@example.org\r\nBcc: victim@example.org", LINK, "To"),
        ("a@example.org\x00", LINK, "To"),
        ("", LINK, "To"),
        ("a@example.org", LINK + "x" * 1000, "List-Unsubscribe"),
        ("a@example.org", LINK + ">\nX-Evil: 1", "List-Unsubscribe"),
    ],
)
def test_a_header_value_that_would_break_the_message_is_refused(
    to: str, link: str, refused: str
) -> None:
    content = PreparedContent.from_rendered(RenderedEmail(subject="s", text="t", html="<p>t</p>"))
    with pytest.raises(ValueError, match=refused):
        EmailComposer(SETTINGS).message(
            content, to=to, message_id="<m@x>", date=SENT_AT, unsubscribe_link=link, supplier="n"
        )


@pytest.mark.parametrize(
    "title",
    [
        "Gants",
        "Seringues à usage unique — lot n°3",
        "短" * 120,
        "Gowns " * 60,
        "Line\nbreak in a title",
    ],
)
def test_subjects_are_encoded_and_folded_as_the_stdlib_does(title: str) -> None:
    match = a_match(title=title)
    content = open_content(match, "fr", "UTC")

    new = new_bytes(content, name="Acme & Sons")

    assert_wire_safe(new)
    subject = render(match, language="fr", timezone_name="UTC").subject
    # The old path raised on a line break in a header; ours keeps it as a space.
    assert str(parsed(new)["Subject"]).strip() == subject.replace("\n", " ")
    if "\n" not in title:
        assert_reads_as(
            new, old_bytes(render(match, language="fr", timezone_name="UTC", unsubscribe_url=LINK))
        )


@settings(max_examples=examples(150), deadline=None)
@given(
    name=st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
    language=st.sampled_from(LANGUAGES),
)
def test_any_name_reads_back_as_the_old_message_did(name: str, language: str) -> None:
    match = a_match(MatchKind.AMENDED, name=name)
    content = open_content(match, language, "Asia/Tokyo")

    new = new_bytes(content, name=name)

    assert_reads_as(
        new,
        old_bytes(
            render(match, language=language, timezone_name="Asia/Tokyo", unsubscribe_url=LINK)
        ),
    )
    assert_wire_safe(new)


def a_job(**changes: object) -> Job:
    match = a_match()
    fields: dict[str, object] = {
        "id": "01JD0000000000000000000001",
        "channel": "email",
        "supplier_id": "s1",
        "address": "buyer@example.org",
        "language": "es",
        "timezone": "America/Bogota",
        "recipient_name": "Acme & Sons",
        "content_key": content_key(match, language="es", timezone="America/Bogota"),
        "attempt": 1,
        "match": match,
    }
    fields.update(changes)
    return Job(**fields)  # type: ignore[arg-type]


def test_a_job_carries_its_ledger_id_its_address_and_its_own_unsubscribe_link() -> None:
    job = a_job()

    first = EmailComposer(SETTINGS).compose(job, now=SENT_AT)
    resent = EmailComposer(SETTINGS).compose(job, now=SENT_AT)

    message = parsed(first.data)
    assert first.message_id == f"<{job.id}@{SETTINGS.message_id_domain}>"
    assert resent.message_id == first.message_id  # a resend after a crash folds with the first
    assert str(message["Message-ID"]) == first.message_id
    assert str(message["To"]) == job.address
    link = link_for(
        SETTINGS,
        Subscriber(supplier_id="s1", channel="email", address=job.address, language=job.language),
    )
    assert str(message["List-Unsubscribe"]) == f"<{link}>"
    assert f"List-Unsubscribe: <{link}>\r\n".encode() in first.data  # unfolded, for clients
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert message["Date"].datetime == SENT_AT
    assert str(message["Subject"]).startswith("[Nueva licitación]")


def test_recipients_of_one_content_share_its_rendering_and_nothing_else() -> None:
    composer = EmailComposer(SETTINGS)
    first = a_job(recipient_name="First <Co>", address="first@example.org", supplier_id="s1")
    second = a_job(
        id="01JD0000000000000000000002",
        recipient_name="Second & Co",
        address="second@example.org",
        supplier_id="s2",
    )

    assert composer.content(first) is composer.content(second)
    one = parsed(composer.compose(first, now=SENT_AT).data)
    two = parsed(composer.compose(second, now=SENT_AT).data)

    for message, mine, other in ((one, "First <Co>", "Second"), (two, "Second & Co", "First")):
        text = message.get_body(("plain",))
        assert isinstance(text, EmailMessage)
        assert f"Hola, {mine}:" in text.get_content()
        assert other not in message.as_string()
    assert str(one["List-Unsubscribe"]) != str(two["List-Unsubscribe"])
    assert str(one["Message-ID"]) != str(two["Message-ID"])


def test_the_rendering_cache_is_bounded_least_recently_used_first() -> None:
    composer = EmailComposer(SETTINGS, cache_size=2)
    jobs = [a_job(content_key=key) for key in ("a", "b", "c")]
    a, b = composer.content(jobs[0]), composer.content(jobs[1])

    assert composer.content(jobs[0]) is a  # "a" is now the most recently used
    composer.content(jobs[2])  # evicts "b"

    assert composer.content(jobs[0]) is a
    assert composer.content(jobs[1]) is not b


def test_a_job_with_nothing_to_say_is_refused() -> None:
    with pytest.raises(ValueError, match="neither"):
        EmailComposer(SETTINGS).compose(a_job(match=None), now=SENT_AT)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", HOSTILE_NAMES[:5])
def test_a_digest_reads_back_as_the_old_message_did(language: str, name: str) -> None:
    entries = (
        a_match(name=name),
        a_match(MatchKind.AMENDED, name=name, title="Gants stériles — nitrile"),
        a_match(MatchKind.CANCELLED, name=name, title="<b>Masks</b>"),
    )
    day = date(2026, 12, 1)
    link = link_for(
        SETTINGS,
        Subscriber(
            supplier_id="s1", channel="email", address="buyer@example.org", language=language
        ),
    )
    job = a_job(
        id="01JDDIGEST0000000000000001",
        match=None,
        digest=DigestContent(day=day, entries=entries),
        content_key="digest-s1-2026-12-01",
        language=language,
        recipient_name=name,
    )
    old = old_build_message(
        to=job.address,
        delivery_id=job.id,
        rendered=render_digest(
            list(entries),
            language=language,
            timezone_name=job.timezone,
            day=day,
            unsubscribe_url=link,
        ),
        unsubscribe_link=link,
    )

    composed = EmailComposer(SETTINGS).compose(job, now=SENT_AT)

    assert composed.message_id == f"<{job.id}@{SETTINGS.message_id_domain}>"
    assert_reads_as(composed.data, flatten_message(old, cte_type="8bit"))
    assert_wire_safe(composed.data)


CHUNK_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=200),
    # Mostly one-byte characters, so encoded lines run right up to the 76 limit.
    st.text(st.sampled_from("xx x=\t.é\n"), max_size=400),
)


@settings(max_examples=examples(400), deadline=None)
@given(
    chunks=st.lists(
        CHUNK_TEXT.map(lambda t: t.replace("\r", "").replace("\n", "\r\n").encode()),
        min_size=1,
        max_size=4,
    )
)
@example(chunks=[b"x" * 226, b"y"])  # the encoder's last line is then exactly 76 long
def test_quoted_chunks_continue_one_another_and_keep_lines_short(chunks: list[bytes]) -> None:
    encoded = b"".join([_continued(_quoted(c)) for c in chunks[:-1]] + [_quoted(chunks[-1])])

    assert binascii.a2b_qp(encoded) == b"".join(chunks)
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    assert b"\n" not in encoded.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    ("encoded", "continued"),
    [
        (b"x" * 75, b"x" * 75 + b"=\r\n"),
        (b"x" * 76, b"x" * 75 + b"=\r\nx=\r\n"),
        (b"x" * 73 + b"=C3", b"x" * 73 + b"=\r\n=C3=\r\n"),
        (b"x" * 74 + b"=C3", b"x" * 74 + b"=\r\n=C3=\r\n"),
        (b"a\r\n" + b"x" * 72 + b"=C3=A9", b"a\r\n" + b"x" * 72 + b"=C3=\r\n=A9=\r\n"),
    ],
)
def test_a_continued_line_is_never_cut_inside_an_escape(encoded: bytes, continued: bytes) -> None:
    assert _continued(encoded) == continued


def test_a_tender_cannot_open_spots_of_its_own_for_each_recipients_name_and_link() -> None:
    # The notices API lets private-use characters through: a tender that spells the
    # placeholders would have every recipient's legal name and its own unsubscribe link
    # spliced into the title and description, as a phishing text would want them.
    match = a_match(title=f"Pay {SUPPLIER_PLACEHOLDER} now")
    match = match.model_copy(
        update={
            "tender": match.tender.model_copy(
                update={"description": f"Confirm at {UNSUBSCRIBE_PLACEHOLDER}"}
            )
        }
    )
    job = a_job(match=match, recipient_name="Zeta Supplies")

    message = parsed(EmailComposer(SETTINGS).compose(job, now=SENT_AT).data)

    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Zeta Supplies now" not in str(message["Subject"])
    assert "Pay tenderwire-supplier now" in str(message["Subject"])
    for body in (text, html):
        assert "Confirm at tenderwire-unsubscribe" in body
        assert "Confirm at http" not in body
        assert "Pay Zeta" not in body
